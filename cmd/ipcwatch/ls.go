package main

import (
	"github.com/alecthomas/kingpin/v2"
)

func registerLs(app *kingpin.Application) (string, command) {
	app.Command("ls", "List every live IPC object with the processes at each end.")
	return "ls", notBuilt("ls")
}
