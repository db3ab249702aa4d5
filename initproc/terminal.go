package initproc

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/console"
)

// setupTerminal is the placeholder's terminal step (process.terminal):
// after the mounts, so the pty is on the container's devpts, and before
// the user and capabilities change, so /dev/console can still be bound.
// The container process gets the slave as its controlling terminal and
// stdio; the master goes to the console socket, of which no copy is kept.
func setupTerminal(p *specs.Process, ic *Config) error {
	if ic.console == nil {
		return nil
	}
	defer ic.console.Close()
	return console.Setup(ic.console, console.Options{
		Size: p.ConsoleSize, UID: p.User.UID, Console: true,
	})
}
