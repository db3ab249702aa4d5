package main

import (
	"path/filepath"
	"strings"
)

// fastParse parses, without building kong's model (~0.4-0.6 ms of
// reflection per call; buildah calls urun four times per RUN step), the
// command lines urun's callers actually send:
//
//	buildah:  [--root R] [--log L --log-format json] create --bundle B --pid-file P [--no-new-keyring] [--console-socket S] ID
//	          start ID, state ID, kill ID SIG, delete [--force] ID
//	podman:   --root R --log-format=json --log=L --systemd-cgroup create --bundle B --pid-file P [--console-socket S] [--no-pivot] ID
//	          start, state, kill, delete --force, exec --process F --detach --pid-file P [--tty --console-socket S] ID
//	containerd's shim: --root R --log L --log-format json [--systemd-cgroup] create ... [--no-new-keyring] ID,
//	          start ID, delete [--force] ID, kill [--all] ID SIG, state ID
//	run [-b B] [--pid-file P] [--console-socket S] [--no-new-keyring] [--no-pivot] ID
//
// It fills the same cli fields kong would, with kong's defaults (--bundle
// "." made absolute, --log-format text, kill's TERM), and returns the
// selected verb's Run. Anything it does not fully recognise (help,
// --version, an unknown or repeated flag, a value that is empty, starts
// with "-" or "~", a verb not listed, a wrong number of arguments) returns
// ok false and goes to kong, which stays the one definition of the command
// line, its help and its errors. fastpath_test.go checks both agree.
func fastParse(args []string, c *cli) (verb string, run func(*Globals) error, ok bool) {
	g := &c.Globals
	i, ok := fastFlags(args, 0, true, map[string]*string{
		"--root": &g.Root, "--log": &g.Log, "--log-format": &g.LogFormat,
	}, map[string]bool{"--root": true, "--log": true}, map[string]*bool{
		"--debug": &g.Debug, "--systemd-cgroup": &g.SystemdCgroup,
	}, nil)
	if !ok || i >= len(args) {
		return "", nil, false
	}
	switch g.LogFormat {
	case "":
		g.LogFormat = "text"
	case "text", "json":
	default:
		return "", nil, false // kong names the allowed values
	}
	verb = args[i]
	var pos []string
	var strs map[string]*string
	var paths map[string]bool
	var bools map[string]*bool
	nargs := 1 // positional arguments: the ID
	switch verb {
	case "create":
		strs, paths, bools = c.Create.flagTables()
		run = c.Create.Run
	case "run":
		strs, paths, bools = c.Run.flagTables()
		run = c.Run.Run
	case "start":
		run = c.Start.Run
	case "state":
		run = c.State.Run
	case "kill":
		bools = map[string]*bool{"--all": &c.Kill.All, "-a": &c.Kill.All}
		nargs = 2 // ID [SIG]
		run = c.Kill.Run
	case "delete":
		bools = map[string]*bool{"--force": &c.Delete.Force, "-f": &c.Delete.Force}
		run = c.Delete.Run
	case "exec":
		o := &c.Exec
		strs = map[string]*string{"--process": &o.Process, "-p": &o.Process, "--pid-file": &o.PidFile, "--console-socket": &o.ConsoleSocket}
		paths = map[string]bool{"--process": true, "-p": true, "--pid-file": true}
		bools = map[string]*bool{"--detach": &o.Detach, "-d": &o.Detach, "--tty": &o.Tty, "-t": &o.Tty}
		run = o.Run
	default:
		return "", nil, false
	}
	if _, ok := fastFlags(args, i+1, false, strs, paths, bools, &pos); !ok {
		return "", nil, false
	}
	if len(pos) < 1 || len(pos) > nargs {
		return "", nil, false
	}
	switch verb {
	case "create":
		c.Create.ID = pos[0]
		ok = c.Create.defaults()
	case "run":
		c.Run.ID = pos[0]
		ok = c.Run.defaults()
	case "start":
		c.Start.ID = pos[0]
	case "state":
		c.State.ID = pos[0]
	case "kill":
		c.Kill.ID, c.Kill.Signal = pos[0], "TERM"
		if len(pos) == 2 {
			c.Kill.Signal = pos[1]
		}
	case "delete":
		c.Delete.ID = pos[0]
	case "exec":
		if c.Exec.Process == "" {
			return "", nil, false // the command follows the ID: kong's passthrough rules
		}
		c.Exec.ID = pos[0]
	}
	return verb, run, ok
}

// flagTables are fastFlags' tables for the flags create and run share,
// but --preserve-fds (kong's).
func (f *containerFlags) flagTables() (strs map[string]*string, paths map[string]bool, bools map[string]*bool) {
	return map[string]*string{"--bundle": &f.Bundle, "-b": &f.Bundle, "--pid-file": &f.PidFile, "--console-socket": &f.ConsoleSocket},
		map[string]bool{"--bundle": true, "-b": true, "--pid-file": true},
		map[string]*bool{"--no-new-keyring": &f.NoNewKeyring, "--no-pivot": &f.NoPivot}
}

// defaults fills in kong's default for a flag fastFlags did not see.
func (f *containerFlags) defaults() bool {
	if f.Bundle != "" {
		return true
	}
	var ok bool
	f.Bundle, ok = expandPath(".")
	return ok
}

// fastFlags parses args from i: "--flag value", "--flag=value" and bool
// flags (no "=value"). With stopAtWord it stops at the first word that is
// not a flag (the verb) and returns its index; else words are appended to
// *pos. ok is false for anything not in the tables, a repeated flag, a
// missing, empty or dash-led value, "--", and for a path value kong would
// not simply make absolute.
func fastFlags(args []string, i int, stopAtWord bool, strs map[string]*string, paths map[string]bool, bools map[string]*bool, pos *[]string) (int, bool) {
	seen := map[any]bool{} // by field: "-b" and "--bundle" are one flag
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if stopAtWord {
				return i, true
			}
			*pos = append(*pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if hasVal && !strings.HasPrefix(name, "--") {
			// "-b=/x": kong reads the value as "=/x" (runc as "/x"); the
			// fast path must not decide which.
			return i, false
		}
		if b, isBool := bools[name]; isBool {
			if hasVal || seen[b] {
				return i, false
			}
			seen[b] = true
			*b = true
			continue
		}
		s, isStr := strs[name]
		if !isStr || seen[s] {
			return i, false
		}
		seen[s] = true
		if !hasVal {
			if i+1 >= len(args) {
				return i, false
			}
			i++
			val = args[i]
		}
		if val == "" || strings.HasPrefix(val, "-") {
			return i, false
		}
		if paths[name] {
			var ok bool
			if val, ok = expandPath(val); !ok {
				return i, false
			}
		}
		*s = val
	}
	return i, true
}

// expandPath is kong's type:"path" for the values fastFlags takes: an
// absolute path as is, a relative one made absolute ("~" is kong's to
// expand).
func expandPath(p string) (string, bool) {
	if filepath.IsAbs(p) {
		return p, true
	}
	if strings.HasPrefix(p, "~") {
		return "", false
	}
	abs, err := filepath.Abs(p)
	return abs, err == nil
}
