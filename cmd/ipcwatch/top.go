package main

import (
	"github.com/alecthomas/kingpin/v2"
)

func registerTop(app *kingpin.Application) (string, command) {
	app.Command("top", "Show live IPC activity per process, mechanism, channel and signal.")
	return "top", notBuilt("top")
}
