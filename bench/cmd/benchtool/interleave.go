//go:build bench

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// interleaveMain is `benchtool interleave [-n N] [-warmup W] [-base NAME]
// [-floor NAME] [-metrics FILE -key PREFIX] NAME=ARGV...`: each ARGV (split
// on spaces, no shell) runs N times, contenders round-robin with the first
// one rotating, and a markdown table of median (min–max) ms and the ratio to
// the base contender (and to the floor, with -floor) is printed. NAME=!REASON
// is a contender that could not be set up: shown with its reason, not run.
// "{i}" in an ARGV becomes the run's number (distinct container IDs, so one
// failed run's leftovers cannot fail the next).
// Used for exec (bench/exec.sh) and for the unprivileged accounts (section
// h of bench/bench.sh), whose set-up the script does. -metrics appends
// PREFIX.NAME.ms (or PREFIX.NAME.err) for `benchtool targets`.
func interleaveMain(args []string) error {
	fs := flag.NewFlagSet("interleave", flag.ContinueOnError)
	n := fs.Int("n", 30, "timed runs per contender")
	warm := fs.Int("warmup", 3, "warm-up runs per contender, not counted")
	base := fs.String("base", "crun", "contender the ratios are relative to")
	floor := fs.String("floor", "", "contender shown as the floor (a × floor column)")
	metricsFile := fs.String("metrics", "", "append the medians to this file, as KEY.NAME.ms")
	key := fs.String("key", "interleave", "key prefix for -metrics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if devNull, err = os.Open(os.DevNull); err != nil {
		return err
	}
	var live, all []*contender
	argvs := map[string][]string{}
	for _, s := range fs.Args() {
		name, cmd, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("%q: want NAME=ARGV", s)
		}
		if reason, ok := strings.CutPrefix(cmd, "!"); ok {
			all = append(all, &contender{name: name, skip: reason})
			continue
		}
		log, err := os.CreateTemp("", "interleave-"+name)
		if err != nil {
			return err
		}
		os.Remove(log.Name())
		c := &contender{name: name, log: log}
		live = append(live, c)
		all = append(all, c)
		argvs[name] = strings.Fields(cmd)
	}
	if len(all) == 0 {
		return errors.New("no contenders")
	}
	times := map[string]samples{}
	fails := map[string]int{}
	for i := -*warm; i < *n; i++ {
		for _, c := range rotate(live, i+*warm) {
			argv := make([]string, len(argvs[c.name]))
			for j, a := range argvs[c.name] {
				argv[j] = strings.ReplaceAll(a, "{i}", strconv.Itoa(i+*warm))
			}
			r := run(c, argv, false)
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
	fl := medianOK(times, fails, *floor, *n)
	m := metrics{}
	floorHead, floorSep, floorNA := "", "", ""
	if *floor != "" {
		floorHead, floorSep, floorNA = " × "+*floor+" |", "---|", " — |"
	}
	fmt.Printf("| contender | median (min–max) ms | × %s |%s failures |\n|---|---|---|%s---|\n", *base, floorHead, floorSep)
	for _, c := range all {
		if c.skip != "" {
			m.err(*key+"."+c.name+".err", c.skip)
			fmt.Printf("| %s | %s | — |%s — |\n", c.name, oneLine(c.skip), floorNA)
			continue
		}
		if fails[c.name] > 0 {
			msg := oneLine(strings.Join(c.errMsgs, "; "))
			m.err(*key+"."+c.name+".err", fmt.Sprintf("%d/%d failed: %s", fails[c.name], *n+*warm, msg))
			fmt.Printf("| %s | FAILED: %s | — |%s **%d/%d** |\n", c.name, msg, floorNA, fails[c.name], *n+*warm)
			continue
		}
		med := times[c.name].median()
		m.ms(*key+"."+c.name+".ms", med)
		fx := ""
		if *floor != "" {
			fx = " " + ratio(med, fl) + " |"
		}
		fmt.Printf("| %s | %s | %s |%s 0/%d |\n", c.name, cell(times[c.name]), ratio(med, b), fx, *n+*warm)
	}
	return m.write(*metricsFile)
}
