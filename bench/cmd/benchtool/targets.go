//go:build bench

package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// metrics are the numbers of one part of a run (bench, interleave, the
// buildah part of bench.sh), one "KEY VALUE" a line, so that `benchtool
// targets` can compute the issue's targets from this run's numbers instead
// of someone copying them by hand. VALUE is a number, or a failure's text
// for keys ending in ".err".
type metrics map[string]string

func (m metrics) num(key string, v float64)      { m[key] = strconv.FormatFloat(v, 'f', 4, 64) }
func (m metrics) ms(key string, d time.Duration) { m.num(key, float64(d)/1e6) }
func (m metrics) err(key, msg string)            { m[key] = oneLine(msg) }

// write appends m to path (several parts may share a file); no-op for "".
func (m metrics) write(path string) error {
	if path == "" || len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, k := range keys {
		fmt.Fprintf(w, "%s %s\n", k, strings.ReplaceAll(m[k], "\n", " "))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readMetrics(paths []string) (metrics, error) {
	m := metrics{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // that part did not run; its targets say "not measured"
		}
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, " ")
			if ok {
				m[k] = v
			}
		}
	}
	return m, nil
}

// get returns the number under key, or why there is none: the contender's
// recorded error (PREFIX.err, PREFIX being key minus its last element), or
// "not measured".
func (m metrics) get(key string) (float64, string) {
	if v, ok := m[key]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			return f, ""
		}
		return 0, v
	}
	prefix := key
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		prefix = key[:i]
	}
	if e, ok := m[prefix+".err"]; ok {
		return 0, e
	}
	return 0, "not measured in this run"
}

// target is one line of issue 12's list: urun's number over a contender's,
// met when the ratio is at most limit (and, for extra, when extra holds).
type target struct {
	what, section string
	urun, base    string  // metric keys
	baseName      string  // "crun", "runc"
	limit         float64 // ratio urun/base allowed
	unit          string  // "ms", "MiB", "s" (how the two numbers are shown)
	failsKey      string  // optional: urun's failure count, must be 0
}

var issue12 = []target{
	{what: "uid 0 in a user namespace: `run` ≤ 0.5× crun", section: "a", urun: "a.urun.ms", base: "a.crun.ms", baseName: "crun", limit: 0.5, unit: "ms"},
	{what: "uid 0 in a user namespace: create+start+state+delete ≤ 0.6× crun", section: "b", urun: "b.urun.sum_ms", base: "b.crun.sum_ms", baseName: "crun", limit: 0.6, unit: "ms"},
	{what: "uid 0 in a user namespace: 32 concurrent runs ≤ crun's wall, 0 failures", section: "d", urun: "d.urun.conc_ms", base: "d.crun.conc_ms", baseName: "crun", limit: 1, unit: "ms", failsKey: "d.urun.conc_fails"},
	{what: "unprivileged, subuid range (urunsub): `run` ≤ 0.9× crun", section: "h", urun: "h.urunsub.urun.ms", base: "h.urunsub.crun.ms", baseName: "crun", limit: 0.9, unit: "ms"},
	{what: "unprivileged, single ID (urunnosub): `run` ≤ 0.6× crun", section: "h", urun: "h.urunnosub.urun.ms", base: "h.urunnosub.crun.ms", baseName: "crun", limit: 0.6, unit: "ms"},
	{what: "peak RSS of `run` ≤ crun's", section: "c", urun: "c.urun.run_kib", base: "c.crun.run_kib", baseName: "crun", limit: 1, unit: "MiB"},
	{what: "parked pid-file process between create and start ≤ crun's (VmRSS)", section: "c", urun: "c.urun.parked_kib", base: "c.crun.parked_kib", baseName: "crun", limit: 1, unit: "MiB"},
	{what: "20-RUN buildah build no slower than with crun", section: "e", urun: "e.urun.s", base: "e.crun.s", baseName: "crun", limit: 1, unit: "s"},
	{what: "20-RUN buildah build no slower than with runc", section: "e", urun: "e.urun.s", base: "e.runc.s", baseName: "runc", limit: 1, unit: "s"},
}

// targetsMain is `benchtool targets [-title T] METRICS...`: the issue 12
// targets table from the metrics files of this run.
func targetsMain(args []string) error {
	fs := flag.NewFlagSet("targets", flag.ContinueOnError)
	title := fs.String("title", "Issue 12 targets", "heading")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := readMetrics(fs.Args())
	if err != nil {
		return err
	}
	return targetsTable(os.Stdout, *title, m)
}

// targetsTable writes the table of issue12 for the metrics m.
func targetsTable(w io.Writer, title string, m metrics) error {
	fmt.Fprintf(w, "### %s\n\n", title)
	fmt.Fprintln(w, "Computed by `benchtool targets` from this run's numbers (medians; RSS: max of the runs), urun ÷ the contender named.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | section | urun | contender | ratio | met? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, t := range issue12 {
		u, uerr := m.get(t.urun)
		b, berr := m.get(t.base)
		switch {
		case uerr != "":
			fmt.Fprintf(w, "| %s | (%s) | %s | — | — | not measured: urun: %s |\n", t.what, t.section, "—", oneLine(uerr))
			continue
		case berr != "":
			fmt.Fprintf(w, "| %s | (%s) | %s | %s: — | — | not measured: %s: %s |\n", t.what, t.section, show(u, t.unit), t.baseName, t.baseName, oneLine(berr))
			continue
		}
		r := u / b
		met := r <= t.limit
		verdict := "met"
		if !met {
			verdict = "**missed**"
		}
		if t.failsKey != "" {
			f, ferr := m.get(t.failsKey)
			switch {
			case ferr != "":
				verdict += "; failures not measured"
			case f > 0:
				verdict = fmt.Sprintf("**missed** (%.0f failures)", f)
			default:
				verdict += ", 0 failures"
			}
		}
		// Enough digits that a ratio just over its limit does not read as equal.
		rs := fmt.Sprintf("%.2f", r)
		if !met && rs == fmt.Sprintf("%.2f", t.limit) {
			rs = fmt.Sprintf("%.3f", r)
		}
		fmt.Fprintf(w, "| %s | (%s) | %s | %s %s | %s× (limit %.2g×) | %s |\n", t.what, t.section, show(u, t.unit), t.baseName, show(b, t.unit), rs, t.limit, verdict)
	}
	fmt.Fprintln(w)
	return nil
}

func show(v float64, unit string) string {
	switch unit {
	case "MiB":
		return fmt.Sprintf("%.2f MiB", v/1024)
	case "s":
		return fmt.Sprintf("%.2f s", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}
