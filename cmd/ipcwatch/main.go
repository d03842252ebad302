// Command ipcwatch makes Linux inter-process communication visible: it runs
// as an agent exporting Prometheus metrics, lists live IPC objects (ls), shows
// live activity (top) and measures every mechanism (bench).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/ipcwatch/ipcwatch/ipc"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// usageError marks an error in what the user asked for: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// command runs one subcommand once its flags are parsed.
type command func(ctx context.Context) error

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if ipc.IsPeer(args) {
		return ipc.ServePeer()
	}
	setVersion()
	app := kingpin.New("ipcwatch", "Makes Linux inter-process communication visible: pipes, FIFOs, Unix sockets, signals, message queues, shared memory, semaphores, eventfd.")
	app.Version(version.Print("ipcwatch"))
	app.HelpFlag.Short('h')
	app.UsageWriter(os.Stdout)
	app.ErrorWriter(os.Stderr)
	exitCode := -1
	app.Terminate(func(code int) {
		if exitCode < 0 {
			exitCode = code
		}
	})

	commands := map[string]command{}
	add := func(name string, c command) { commands[name] = c }
	add(registerAgent(app))
	add(registerLs(app))
	add(registerTop(app))
	add(registerBench(app))
	add(registerVersion(app))

	name, err := app.Parse(args)
	if exitCode >= 0 {
		return exitCode // --help or --version
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ipcwatch: error: %v (see ipcwatch --help)\n", err)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = commands[name](ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(os.Stderr, "ipcwatch %s: %v\n", name, err)
		return exitUsage
	case ctx.Err() != nil:
		fmt.Fprintf(os.Stderr, "ipcwatch %s: interrupted\n", name)
		return exitInterrupted
	}
	fmt.Fprintf(os.Stderr, "ipcwatch %s: %v\n", name, err)
	return exitFailure
}

func registerVersion(app *kingpin.Application) (string, command) {
	app.Command("version", "Print the version and build information.")
	return "version", func(context.Context) error {
		fmt.Println(version.Print("ipcwatch"))
		return nil
	}
}

// setVersion fills in the version when the build did not set it with -X (go
// run, go build, go install): the module version, or "devel".
func setVersion() {
	if version.Version != "" {
		return
	}
	version.Version = "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version.Version = bi.Main.Version
	}
}
