// Command urun is a rootless OCI runtime for unprivileged builds: it creates
// only a user and a mount namespace, and the PID it reports is the
// container process itself.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	"golang.org/x/sys/unix"

	"urun/config"
	"urun/enter"
	"urun/failure"
	"urun/scaffold"
	"urun/store"
	"urun/ulog"
)

// Set by the Makefile with -ldflags.
var (
	version = "dev"
	commit  = "unknown"
)

func init() {
	// The placeholder sets credentials and capabilities per thread and then
	// execs, and the in-process executor unshares and mounts on its thread
	// and forks from it: keep main on one OS thread (the first) from the
	// start. state, start, kill and delete only read, signal and remove,
	// from any thread; they skip the lock, whose first call starts the
	// runtime's template thread (~0.065 ms measured, in every call).
	if !lockFree(os.Args) {
		runtime.LockOSThread()
	}
}

// lockFree: argv is a lean verb of the CLI, not the placeholder, exec's
// child or the janitor (see main).
func lockFree(argv []string) bool {
	if len(argv) < 2 {
		return false
	}
	switch argv[0] {
	case scaffold.InitArg0, enter.Arg0, janitorArg0:
		return false
	}
	return leanVerb(verbIn(argv[1:]))
}

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

// exitCode carries a container's exit status out of run.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// signalled is an error that ends urun with 128+N, as a hang ended by
// signal N does (URUN_HANG=create and create-setup: the error is logged).
type signalled struct {
	error
	sig unix.Signal
}

func main() {
	ulog.Trace("main")
	if len(os.Args) > 0 && os.Args[0] == scaffold.InitArg0 {
		scaffold.InitMain()
	}
	if len(os.Args) > 0 && os.Args[0] == enter.Arg0 {
		enter.ChildMain()
	}
	if len(os.Args) > 0 && os.Args[0] == janitorArg0 {
		recordCallerFDs()
		os.Exit(janitorMain(os.Args[1:]))
	}
	os.Exit(realMain(os.Args[1:]))
}

// primeJSON builds encoding/json's tables for what run, create and exec
// decode and write (config.json, then state.json), off their critical path
// (see config.Prime).
func primeJSON() {
	config.Prime()
	store.PrimeState()
}

func realMain(args []string) int {
	args = launchArgs(args)
	verb := verbIn(args)
	if !leanVerb(verb) {
		recordCallerFDs()
	}
	switch verb {
	case "run", "launch": // foreground (run -d too: see createOpts.detach)
		startEarlyNotify(forwarded, forwardedRest, primeJSON)
	case "exec":
		if !slices.Contains(args, "--detach") && !slices.Contains(args, "-d") {
			startEarlyNotify(forwarded, forwardedRest, primeJSON)
		}
	case "create":
		if !strings.HasPrefix(os.Getenv("URUN_HANG"), "create") { // hangCreating has its own
			startEarlyNotify(interrupting, nil, primeJSON)
		}
	}
	var c cli
	verb, run, fast := fastParse(args, &c)
	if !fast {
		c = cli{}
		parser, err := newParser(&c, args)
		if err != nil {
			fmt.Fprintln(os.Stderr, "urun:", err)
			return 1
		}
		ulog.Trace("cli model built")
		ctx, err := parser.Parse(args)
		if err != nil {
			return parseFailed(args, err)
		}
		verb = ctx.Selected().Name
		run = func(g *Globals) error { return ctx.Run(g) }
	}
	ulog.Trace("cli parsed")
	closer, err := ulog.Setup(c.Log, c.LogFormat, c.Debug)
	if err != nil {
		fmt.Fprintf(os.Stderr, "urun: --log %s: %v\n", c.Log, err)
		return 1
	}
	defer closer.Close()
	ulog.Trace("log set up")
	if code := hangIfAsked(verb); code != 0 {
		return code
	}
	if c.SystemdCgroup {
		ulog.L.Debug().Msg("--systemd-cgroup ignored: urun manages no cgroups")
	}
	err = run(&c.Globals)
	ulog.Trace("verb done")
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	default:
		ulog.L.Error().Msg(err.Error())
		var sig signalled
		if errors.As(err, &sig) {
			return 128 + int(sig.sig)
		}
		return 1
	}
}

// hangIfAsked implements URUN_HANG=<verb>: log, then wait for SIGTERM,
// SIGINT or SIGHUP, so a person can inspect the bundle and state
// mid-build. It has made nothing yet, so it only says which signal ended
// it and returns 128+N (0: no hang).
//
// create hangs later, in createContainer, once the container is reserved:
// its state is what a person debugging a build wants to look at.
func hangIfAsked(verb string) int {
	if os.Getenv("URUN_HANG") != verb || verb == "create" {
		return 0
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, interrupting...)
	var caught chan os.Signal // run's early catch, which may hold one already
	if early != nil {
		caught = early.sigs
	}
	ulog.L.Warn().Int("pid", os.Getpid()).Strs("args", os.Args).
		Msgf("URUN_HANG=%s: urun %s is hanging before doing anything; end it with SIGTERM, SIGINT or SIGHUP (kill %d)", verb, verb, os.Getpid())
	for {
		var s os.Signal
		select {
		case s = <-sigs:
		case s = <-caught:
		}
		if n, ok := s.(unix.Signal); ok && slices.Contains(interrupting, s) {
			ulog.L.Error().Msgf("urun %s: URUN_HANG=%s: stopped by %s while hanging; nothing was done", verb, verb, unix.SignalName(n))
			return 128 + int(n)
		}
	}
}

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
