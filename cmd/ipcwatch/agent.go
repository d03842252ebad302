package main

import (
	"github.com/alecthomas/kingpin/v2"
)

func registerAgent(app *kingpin.Application) (string, command) {
	app.Command("agent", "Run the agent: serve Prometheus metrics from the inventory, the eBPF probes and a periodic self-test.")
	return "agent", notBuilt("agent")
}
