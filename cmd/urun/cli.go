// The command line's model: the global flags, the verbs and the parser
// built for one of them, the flags create and run share, and the two
// helpers every verb uses (openContainer, wrap).

package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/failure"
	"urun/store"
)

// Globals are runc's global flags; callers pass them before the verb.
type Globals struct {
	Root          string       `help:"State directory (default: $XDG_RUNTIME_DIR/urun, /run/urun for root, /tmp/urun-UID)." type:"path"`
	Log           string       `help:"Also log to this file." type:"path"`
	LogFormat     string       `help:"Log file format: text or json." enum:"text,json" default:"text"`
	Debug         bool         `help:"Log debug messages."`
	SystemdCgroup bool         `name:"systemd-cgroup" help:"Accepted for runc compatibility; urun manages no cgroups."`
	Criu          string       `help:"Accepted for runc compatibility; ignored." hidden:""`
	Rootless      rootlessFlag `help:"Accepted for runc compatibility (--rootless or --rootless=true|false|auto); urun is always rootless."`
}

// cli is the command line. The verbs are registered with kong one by one
// (see verbs) so that a call builds the model of its own verb only.
type cli struct {
	Globals
	Version  kong.VersionFlag `short:"v" help:"Print version information and exit."`
	Create   createCmd        `kong:"-"`
	Start    startCmd         `kong:"-"`
	State    stateCmd         `kong:"-"`
	Kill     killCmd          `kong:"-"`
	Delete   deleteCmd        `kong:"-"`
	Run      runCmd           `kong:"-"`
	Exec     execCmd          `kong:"-"`
	List     listCmd          `kong:"-"`
	Spec     specCmd          `kong:"-"`
	Features featuresCmd      `kong:"-"`
	Ps       psCmd            `kong:"-"`
	Launch   launchCmd        `kong:"-"`
}

// verbs lists the commands in help order; refused.go appends the verbs
// urun refuses (pause, update, checkpoint, ...).
var verbs = []struct {
	name, help string
	target     func(*cli) any
}{
	{"create", "Create a container: set it up and park its process until start.", func(c *cli) any { return &c.Create }},
	{"start", "Start the user process of a created container.", func(c *cli) any { return &c.Start }},
	{"state", "Print a container's OCI state as JSON.", func(c *cli) any { return &c.State }},
	{"kill", "Send a signal to a container's process.", func(c *cli) any { return &c.Kill }},
	{"delete", "Delete a container's state (--force kills a running one).", func(c *cli) any { return &c.Delete }},
	{"run", "Create and start a container, wait for it and delete it.", func(c *cli) any { return &c.Run }},
	{"exec", "Run another process in a created or running container.", func(c *cli) any { return &c.Exec }},
	{"list", "List containers.", func(c *cli) any { return &c.List }},
	{"spec", "Write a config.json that urun runs as is.", func(c *cli) any { return &c.Spec }},
	{"features", "Print the OCI features document: what urun supports.", func(c *cli) any { return &c.Features }},
	{"ps", "List a container's processes: ps(1) lines, or a JSON array of PIDs.", func(c *cli) any { return &c.Ps }},
	{"launch", "Run a command in an image as yourself, for MPI ranks and Slurm tasks (urun launch IMAGE -- CMD).", func(c *cli) any { return &c.Launch }},
}

// globalsWithValue are the global flags whose value may be the next word.
var globalsWithValue = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true}

// verbIn finds the verb in a command line without parsing it: the first
// word that is neither a global flag nor a global flag's value. kong then
// builds the model of that verb only (a third of the cost of all verbs,
// ~0.5 ms per call; urun runs four times per buildah RUN step). "" (no
// verb, --help, a typo) means: register every verb, so help and "did you
// mean" see them all. kong still parses and checks everything.
func verbIn(args []string) string {
	v, _ := verbAt(args)
	return v
}

// verbAt is verbIn with the verb's index in args.
func verbAt(args []string) (string, int) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", -1
		case globalsWithValue[a]:
			i++
		case a == "--rootless":
			if i+1 < len(args) && (args[i+1] == "true" || args[i+1] == "false" || args[i+1] == "auto") {
				i++
			}
		case strings.HasPrefix(a, "-"):
		default:
			for _, v := range verbs {
				if v.name == a {
					return a, i
				}
			}
			return "", -1
		}
	}
	return "", -1
}

// rootlessFlag is runc's --rootless, which takes an optional value.
type rootlessFlag string

func (r *rootlessFlag) Decode(ctx *kong.DecodeContext) error {
	next := ctx.Scan.Peek()
	if next.Type != kong.FlagValueToken {
		// runc's flag library also takes the value as the next word.
		if v, ok := next.Value.(string); ok && next.IsValue() && (v == "true" || v == "false" || v == "auto") {
			ctx.Scan.Pop()
			*r = rootlessFlag(v)
			return nil
		}
		*r = "true"
		return nil
	}
	tok, err := ctx.Scan.PopValue("rootless")
	if err != nil {
		return err
	}
	v := strings.ToLower(fmt.Sprint(tok.Value))
	switch v {
	case "true", "false", "auto":
		*r = rootlessFlag(v)
		return nil
	}
	return fmt.Errorf("%q is not true, false or auto", v)
}

func (*rootlessFlag) IsBool() bool { return true }

func newParser(c *cli, args []string) (*kong.Kong, error) {
	return buildParser(c, verbIn(args))
}

// buildParser registers the verb only, or every verb when only is "".
func buildParser(c *cli, only string) (*kong.Kong, error) {
	opts := []kong.Option{
		kong.Name("urun"),
		kong.Description("A rootless OCI container runtime for unprivileged builds (user and mount namespaces only)."),
		kong.Vars{"version": versionString()},
		kong.Exit(func(code int) { os.Exit(code) }),
	}
	for _, v := range verbs {
		if only == "" || only == v.name {
			opts = append(opts, kong.DynamicCommand(v.name, v.help, "", v.target(c)))
		}
	}
	return kong.New(c, opts...)
}

func versionString() string {
	return fmt.Sprintf("urun version %s\ncommit: %s\nspec: %s\ngo: %s", version, commit, specVersion(), runtime.Version())
}

// openContainer opens container id in the state directory the global
// flags name, locked (exclusive for a verb that changes it).
func openContainer(g *Globals, id string, exclusive bool) (*store.Container, error) {
	root, err := store.OpenStore(g.Root)
	if err != nil {
		return nil, err
	}
	return root.Open(id, exclusive)
}

// wrap prefixes an error with the verb and container ID, the shape every
// urun error has: "urun create web1: mount /proc: ...".
func wrap(verb, id string, err error) error {
	if err == nil {
		return nil
	}
	var code exitCode
	if errors.As(err, &code) {
		return err
	}
	if id != "" {
		id = quoteID(id)
	}
	return failure.Op(verb, id, err)
}

// quoteID is an ID as messages show it: as is when it is a valid ID (only
// letters, digits and _.+@:-), else quoted with %q, so escape sequences
// and newlines in a bad ID never reach a terminal or a log raw.
func quoteID(id string) string {
	if store.ValidateID(id) == nil {
		return id
	}
	return strconv.Quote(id)
}

func specVersion() string { return specs.Version }

// containerFlags are the flags create and run share, as runc has them.
type containerFlags struct {
	Bundle        string `short:"b" help:"Bundle directory." default:"." type:"path"`
	PidFile       string `name:"pid-file" help:"Write the container process's PID here." type:"path"`
	ConsoleSocket string `name:"console-socket" help:"AF_UNIX socket to send the container's pty master to (process.terminal true; runc's protocol); without it run relays its own terminal."`
	NoNewKeyring  bool   `name:"no-new-keyring" help:"Accepted: urun never creates session keyrings."`
	PreserveFds   int    `name:"preserve-fds" help:"Pass this many extra fds (from 3 on) to the container; each must be one urun's caller passed it."`
	NoPivot       bool   `name:"no-pivot" hidden:"" help:"Accepted for runc compatibility; urun always uses pivot_root."`
}

// opts are createContainer's options these flags give, for container id.
func (f *containerFlags) opts(id string) createOpts {
	return createOpts{id: id, bundle: f.Bundle, pidFile: f.PidFile, consoleSocket: f.ConsoleSocket, preserveFDs: f.PreserveFds}
}
