package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"urun/config"
	"urun/launch"
	"urun/members"
	"urun/store"
	"urun/ulog"
)

// launchCmd is the HPC front end, modelled on Charliecloud's ch-run: one
// command per rank, no bundle written, the caller's IDs, environment and
// working directory kept. It runs as `run` does (foreground, exit status
// and signals passed through, nothing left behind).
type launchCmd struct {
	AsRoot   bool     `name:"as-root" help:"Run as root in the container (uid 0 mapped to you) instead of as yourself. After the verb, --root means this too."`
	Env      []string `short:"e" name:"env" sep:"none" help:"Set NAME=VALUE in the container (repeatable); the caller's environment is passed through."`
	UnsetEnv []string `name:"unset-env" sep:"none" help:"Remove NAME from the environment passed through (repeatable)."`
	Bind     []string `short:"b" name:"bind" sep:"none" help:"Bind SRC at DST (default: the same path), read-only with :ro (repeatable)."`
	NoHome   bool     `name:"no-home" help:"Do not bind $HOME."`
	Write    bool     `short:"w" help:"Make the image writable (default: read-only, so ranks share it safely)."`
	Join     bool     `short:"j" help:"Share one container (user and mount namespace) among the ranks of this job on this node: cross-memory attach works between them and the set-up is paid once."`
	JoinTag  string   `name:"join-tag" help:"With --join: the group's name, instead of the job and launcher found in the environment."`
	JoinCt   int      `name:"join-ct" help:"With --join: how many ranks run on this node (default: from Open MPI's or Slurm's environment)."`
	Image    string   `arg:"" help:"A rootfs directory, or a bundle directory whose config.json is the template."`
	Cmd      []string `arg:"" passthrough:"" help:"The command and its arguments, after --."`
}

func (c *launchCmd) Run(g *Globals) error {
	id := "launch-" + strconv.Itoa(os.Getpid())
	sweepLaunches(g)
	o := launch.Options{Image: c.Image, Args: c.Cmd, Root: c.AsRoot, Env: c.Env,
		UnsetEnv: c.UnsetEnv, Binds: c.Bind, NoHome: c.NoHome, Write: c.Write}
	if len(o.Args) > 0 && o.Args[0] == "--" {
		o.Args = o.Args[1:]
	}
	if err := o.Host(); err != nil {
		return wrap("launch", id, err)
	}
	lc, err := launch.Build(o)
	if err != nil {
		return wrap("launch", id, err)
	}
	raw, err := json.Marshal(lc.Spec)
	if err != nil {
		return wrap("launch", id, fmt.Errorf("encode config: %w", err))
	}
	if c.Join || c.JoinTag != "" || c.JoinCt != 0 {
		return wrap("launch", "", c.runJoined(g, lc, raw))
	}
	r := &runner{ID: id, verb: "launch", loaded: &config.Bundle{Dir: lc.Dir, Raw: raw}}
	return r.run(g)
}

// launchArgs reads `--root` after the launch verb as --as-root, the name
// HPC users know; before the verb it stays runc's state directory. Only
// launch's own flags are read so: the command (after --, or from the word
// after IMAGE on) is the user's, a `--root` in it included.
func launchArgs(args []string) []string {
	verb, at := verbAt(args)
	if verb != "launch" {
		return args
	}
	out := append([]string(nil), args...)
	positional := 0
	for i := at + 1; i < len(out) && out[i] != "--"; i++ {
		switch a := out[i]; {
		case a == "--root":
			out[i] = "--as-root"
		case launchWithValue[a] || globalsWithValue[a]: // --root: above
			i++ // its value
		case !strings.HasPrefix(a, "-"):
			if positional++; positional == 2 { // the command starts here
				return out
			}
		}
	}
	return out
}

// launchWithValue are launch's flags whose value may be the next word.
var launchWithValue = map[string]bool{"-e": true, "--env": true, "--unset-env": true, "-b": true, "--bind": true, "--join-tag": true, "--join-ct": true}

// gone: no process pid runs (none, or a zombie nobody reaped: an init
// that does not reap leaves a killed launcher so).
func gone(pid int) bool {
	_, state, err := members.ProcStart(pid)
	if err != nil {
		return errors.Is(err, os.ErrNotExist) || unix.Kill(pid, 0) == unix.ESRCH
	}
	return state == 'Z' || state == 'X'
}

// sweepLaunches removes what launches killed with SIGKILL left in the
// state directory (mpirun and Slurm kill a job's launchers that way): a
// launch-PID entry whose urun is gone. Its rank died with it
// (DieWithCaller); a PID reused since is left alone.
func sweepLaunches(g *Globals) {
	root, err := store.OpenStore(g.Root)
	if err != nil {
		return
	}
	ents, _ := os.ReadDir(root.Dir)
	for _, e := range ents {
		pid, ok := strings.CutPrefix(e.Name(), "launch-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 || !gone(n) {
			continue
		}
		if err := deleteContainer(g, e.Name(), true); err != nil {
			ulog.L.Debug().Msgf("urun launch: left %s: %v", e.Name(), err)
		}
	}
}
