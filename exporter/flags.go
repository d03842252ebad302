package exporter

import (
	"fmt"
	"strconv"

	"github.com/alecthomas/kingpin/v2"
)

// FlagGroup is a kingpin application or command.
type FlagGroup interface {
	Flag(name, help string) *kingpin.FlagClause
}

// Flags are the exporter's command-line flags.
type Flags struct {
	collectors      map[string]*bool
	MaxProcesses    *int
	MaxObjects      *int
	ContainerLabels *bool
}

// AddFlags adds --collector.NAME (and --no-collector.NAME) for every
// collector, and the cardinality flags.
func AddFlags(g FlagGroup) *Flags {
	f := &Flags{collectors: map[string]*bool{}}
	for _, a := range areas {
		state := "disabled"
		if a.defaultOn {
			state = "enabled"
		}
		f.collectors[a.name] = g.Flag("collector."+a.name,
			fmt.Sprintf("Enable the %s collector: %s (default: %s).", a.name, a.help, state)).
			Default(strconv.FormatBool(a.defaultOn)).Bool()
	}
	f.MaxProcesses = g.Flag("metrics.max-processes",
		"Per-process series keep this many of the most active process names (comm); the rest are folded into comm=\"other\".").
		Default(strconv.Itoa(DefaultMaxProcesses)).Int()
	f.MaxObjects = g.Flag("metrics.max-objects",
		"Per-object series (queue names, socket paths, System V keys) keep this many of the largest objects of each family; the rest are folded into \"other\".").
		Default(strconv.Itoa(DefaultMaxObjects)).Int()
	f.ContainerLabels = g.Flag("metrics.container-labels",
		"Add a container_id label, from the cgroup path, to per-process series (empty for host processes).").Bool()
	return f
}

// Collectors returns which collectors the flags enable, by name.
func (f *Flags) Collectors() map[string]bool {
	m := make(map[string]bool, len(f.collectors))
	for name, on := range f.collectors {
		m[name] = *on
	}
	return m
}
