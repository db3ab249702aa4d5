//go:build bench

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// interleaveMain is `benchtool interleave [-n N] [-warmup W] [-base NAME]
// NAME=ARGV...`: each ARGV (split on spaces, no shell) runs N times,
// contenders round-robin with the first one rotating, and a markdown table
// of median (min–max) ms and the ratio to the base contender is printed.
// Used for exec (bench/exec.sh), whose set-up (a running container per
// runtime) the script does.
func interleaveMain(args []string) error {
	fs := flag.NewFlagSet("interleave", flag.ContinueOnError)
	n := fs.Int("n", 30, "timed runs per contender")
	warm := fs.Int("warmup", 3, "warm-up runs per contender, not counted")
	base := fs.String("base", "crun", "contender the ratios are relative to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if devNull, err = os.Open(os.DevNull); err != nil {
		return err
	}
	var live []*contender
	argvs := map[string][]string{}
	for _, s := range fs.Args() {
		name, cmd, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("%q: want NAME=ARGV", s)
		}
		log, err := os.CreateTemp("", "interleave-"+name)
		if err != nil {
			return err
		}
		os.Remove(log.Name())
		c := &contender{name: name, log: log}
		live = append(live, c)
		argvs[name] = strings.Fields(cmd)
	}
	if len(live) == 0 {
		return errors.New("no contenders")
	}
	times := map[string]samples{}
	fails := map[string]int{}
	for i := -*warm; i < *n; i++ {
		for _, c := range rotate(live, i+*warm) {
			r := run(c, argvs[c.name], false)
			if r.err != nil {
				fails[c.name]++
				c.fail("run", r.err)
				continue
			}
			if i >= 0 {
				times[c.name] = append(times[c.name], r.dur)
			}
		}
	}
	b := medianOK(times, fails, *base, *n)
	fmt.Printf("| contender | median (min–max) ms | × %s | failures |\n|---|---|---|---|\n", *base)
	for _, c := range live {
		if fails[c.name] > 0 {
			fmt.Printf("| %s | FAILED: %s | — | **%d/%d** |\n", c.name, oneLine(strings.Join(c.errMsgs, "; ")), fails[c.name], *n+*warm)
			continue
		}
		fmt.Printf("| %s | %s | %s | 0/%d |\n", c.name, cell(times[c.name]), ratio(times[c.name].median(), b), *n+*warm)
	}
	return nil
}
