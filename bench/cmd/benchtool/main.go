//go:build bench

// Command benchtool is the timing loop behind bench/bench.sh. It is kept out
// of ordinary builds and `go test ./...` by the "bench" build tag:
//
//	go build -tags bench -o /tmp/benchtool ./bench/cmd/benchtool
//
// It runs every contender directly with syscall.StartProcess + wait4 (no
// shell, no os/exec goroutines), times each operation with the monotonic
// clock, and makes itself a child subreaper so that the container processes
// a runtime leaves behind after `create` become its children: it reaps them
// (like buildah's monitor does) before calling `state` and `delete`.
//
// Subcommands:
//
//	benchtool fixspec [-uidmap M -gidmap M] CONFIG ROOTFS
//	                                  set args=/bin/true, terminal=false, root.path=ROOTFS
//	                                  (and linux.uidMappings/gidMappings, M = C:H:S,...)
//	benchtool bench [flags]           run the measurements, print markdown tables
//	benchtool hyperfine NAME=JSON...  table of hyperfine --export-json results
//	benchtool interleave NAME=ARGV... N interleaved runs of each command (exec.sh, section h)
//	benchtool targets METRICS...      the issue 12 targets table from this run's -metrics files
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool fixspec|bench|hyperfine|interleave|targets ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "fixspec":
		err = fixSpecMain(os.Args[2:])
	case "hyperfine":
		err = hyperfineTable(os.Args[2:])
	case "bench":
		err = benchMain(os.Args[2:])
	case "interleave":
		err = interleaveMain(os.Args[2:])
	case "targets":
		err = targetsMain(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func fixSpecMain(args []string) error {
	fs := flag.NewFlagSet("fixspec", flag.ContinueOnError)
	uidMap := fs.String("uidmap", "", "linux.uidMappings to set, CONTAINER:HOST:SIZE,...")
	gidMap := fs.String("gidmap", "", "linux.gidMappings to set, CONTAINER:HOST:SIZE,...")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: benchtool fixspec [-uidmap M] [-gidmap M] CONFIG ROOTFS")
	}
	return fixSpec(fs.Arg(0), fs.Arg(1), *uidMap, *gidMap)
}

// parseMaps turns "0:1001:1,1:100000:65536" into OCI ID mappings.
func parseMaps(s string) ([]any, error) {
	var out []any
	for _, r := range strings.Split(s, ",") {
		f := strings.Split(r, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("mapping %q: want CONTAINER:HOST:SIZE", r)
		}
		var n [3]uint64
		for i := range f {
			v, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("mapping %q: %w", r, err)
			}
			n[i] = v
		}
		out = append(out, map[string]any{"containerID": n[0], "hostID": n[1], "size": n[2]})
	}
	return out, nil
}

// fixSpec edits a generated config.json in place, keeping every other field.
func fixSpec(path, rootfs, uidMap, gidMap string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	proc, _ := m["process"].(map[string]any)
	if proc == nil {
		proc = map[string]any{}
		m["process"] = proc
	}
	proc["args"] = []any{"/bin/true"}
	proc["terminal"] = false
	root, _ := m["root"].(map[string]any)
	if root == nil {
		root = map[string]any{}
		m["root"] = root
	}
	root["path"] = rootfs
	for _, mp := range []struct{ field, spec string }{{"uidMappings", uidMap}, {"gidMappings", gidMap}} {
		if mp.spec == "" {
			continue
		}
		maps, err := parseMaps(mp.spec)
		if err != nil {
			return err
		}
		linux, _ := m["linux"].(map[string]any)
		if linux == nil {
			linux = map[string]any{}
			m["linux"] = linux
		}
		linux[mp.field] = maps
	}
	out, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}

// ---------------------------------------------------------------------------

type contender struct {
	name    string
	bin     string // runtime binary; empty for the floor
	skip    string // reason this contender is not measured ("not built")
	bundle  string
	root    string // --root state dir
	log     *os.File
	errMsgs []string // first few failure messages
	strays  int      // orphans reaped that were not the expected container
}

func (c *contender) isFloor() bool { return c.name == "floor" }

// runtimeArgs builds argv for a runtime verb.
func (c *contender) argv(verb ...string) []string {
	return append([]string{c.bin, "--root", c.root}, verb...)
}

func (c *contender) runArgv(id string) []string {
	if c.isFloor() {
		return floorArgv
	}
	return c.argv("run", "--bundle", c.bundle, id)
}

var floorArgv = []string{"/usr/bin/unshare", "--user", "--map-root-user", "--mount", "/bin/true"}

// firstErr is the first failure message kept, for the metrics.
func (c *contender) firstErr() string {
	if len(c.errMsgs) == 0 {
		return "failed"
	}
	return c.errMsgs[0]
}

func (c *contender) fail(what string, err error) {
	msg := fmt.Sprintf("%s: %v", what, err)
	fmt.Fprintln(c.log, "FAIL", msg)
	for _, m := range c.errMsgs {
		if strings.HasPrefix(m, what+":") {
			return // one example per kind of operation
		}
	}
	c.errMsgs = append(c.errMsgs, msg)
}

type result struct {
	dur    time.Duration
	rusage syscall.Rusage
	out    []byte
	err    error
}

// run executes argv with stdin /dev/null, stdout to a pipe-less temp file when
// capture is set (else to the log), stderr to the log, and waits for it.
func run(c *contender, argv []string, capture bool) result {
	var r result
	var outF *os.File
	if capture {
		f, err := os.CreateTemp("", "out")
		if err != nil {
			r.err = err
			return r
		}
		os.Remove(f.Name())
		defer f.Close()
		outF = f
	} else {
		outF = c.log
	}
	var logOff int64
	if st, err := c.log.Stat(); err == nil {
		logOff = st.Size()
	}
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{devNull.Fd(), outF.Fd(), c.log.Fd()},
	}
	t0 := time.Now()
	pid, err := syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		r.err = err
		return r
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &r.rusage)
		if err != syscall.EINTR {
			break
		}
	}
	r.dur = time.Since(t0)
	if err != nil {
		r.err = err
	} else if !ws.Exited() || ws.ExitStatus() != 0 {
		r.err = fmt.Errorf("%s: %s%s", strings.Join(argv, " "), wsString(ws), logTail(c.log, logOff))
	}
	if capture {
		outF.Seek(0, 0)
		r.out, _ = io.ReadAll(outF)
	}
	return r
}

// logTail returns what was appended to the log since off (shortened).
func logTail(f *os.File, off int64) string {
	st, err := f.Stat()
	if err != nil || st.Size() <= off {
		return ""
	}
	n := st.Size() - off
	if n > 400 {
		off, n = st.Size()-400, 400
	}
	b := make([]byte, n)
	f.ReadAt(b, off)
	return ": " + strings.TrimSpace(string(b))
}

func wsString(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

var devNull *os.File

// reapStrays collects orphans (we are a subreaper); only call when no direct
// child of ours is expected to be running.
func reapStrays(c *contender) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		if c != nil {
			c.strays++
		}
	}
}

// waitExit waits for the container process pid to exit; it is normally our
// child by now (orphaned to us, the subreaper). Falls back to polling /proc.
// Returns the rusage when reaped by us.
func waitExit(pid int, timeout time.Duration) (*syscall.Rusage, error) {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	deadline := time.Now().Add(timeout)
	for {
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, &ru)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && got == pid {
			return &ru, nil
		}
		if err == syscall.ECHILD {
			// Not (yet) our child: the runtime keeps it, or it is gone.
			b, rerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if rerr != nil {
				return nil, nil // gone
			}
			if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
				return nil, nil // zombie of someone else: exited
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("container pid %d still running after %v", pid, timeout)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// ---------------------------------------------------------------------------

type samples []time.Duration

func (s samples) sorted() samples {
	t := append(samples(nil), s...)
	sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
	return t
}

func (s samples) median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	t := s.sorted()
	n := len(t)
	if n%2 == 1 {
		return t[n/2]
	}
	return (t[n/2-1] + t[n/2]) / 2
}

func (s samples) min() time.Duration { return s.sorted()[0] }
func (s samples) max() time.Duration { return s.sorted()[len(s)-1] }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

func cell(s samples) string {
	if len(s) == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s)", ms(s.median()), ms(s.min()), ms(s.max()))
}

func ratio(a, b time.Duration) string {
	if a <= 0 || b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func kib(k int64) string { return fmt.Sprintf("%.2f", float64(k)/1024) }

// ---------------------------------------------------------------------------

type benchCfg struct {
	iters, warm, cycles, rssN, seq, conc, concRounds int
	timeBin                                          string
	out                                              *bytes.Buffer
	m                                                metrics // numbers for `benchtool targets`
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func benchMain(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cs, skips listFlag
	fs.Var(&cs, "c", "contender NAME=BINARY (bundle is BUNDLES/NAME); repeatable, order kept")
	fs.Var(&skips, "skip", "contender NAME=REASON shown but not measured; repeatable")
	bundles := fs.String("bundles", "", "directory holding one bundle per contender")
	state := fs.String("state", "", "directory for per-runtime --root state dirs and logs")
	cfg := benchCfg{out: &bytes.Buffer{}, m: metrics{}}
	fs.IntVar(&cfg.iters, "n", 50, "iterations of `run` per contender (section a)")
	fs.IntVar(&cfg.warm, "warmup", 3, "warm-up iterations per contender, not counted")
	fs.IntVar(&cfg.cycles, "cycles", 30, "create/start/state/delete cycles per runtime (section b)")
	fs.IntVar(&cfg.rssN, "rss", 5, "runs under GNU time per runtime and verb (section c)")
	fs.IntVar(&cfg.seq, "seq", 100, "sequential runs (section d)")
	fs.IntVar(&cfg.conc, "conc", 32, "concurrent runs (section d)")
	fs.IntVar(&cfg.concRounds, "conc-rounds", 3, "rounds of concurrent runs (section d)")
	fs.StringVar(&cfg.timeBin, "time", "/usr/bin/time", "GNU time binary for peak RSS (empty: skip)")
	floor := fs.Bool("floor", true, "include the floor: "+strings.Join(floorArgv, " "))
	md := fs.String("md", "", "also write the tables to this file")
	metricsFile := fs.String("metrics", "", "append the numbers the targets are computed from to this file")
	quiet := fs.Bool("q", false, "do not print the tables to stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bundles == "" || *state == "" {
		return errors.New("-bundles and -state are required")
	}
	var err error
	devNull, err = os.Open(os.DevNull)
	if err != nil {
		return err
	}
	// PR_SET_CHILD_SUBREAPER = 36
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36, 1, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %v", e)
	}

	var all []*contender
	add := func(name, bin, skip string) error {
		c := &contender{name: name, bin: bin, skip: skip,
			bundle: filepath.Join(*bundles, name), root: filepath.Join(*state, name)}
		if err := os.MkdirAll(c.root, 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(*state, name+".log"), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		c.log = f
		all = append(all, c)
		return nil
	}
	for _, s := range cs {
		name, bin, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("-c %q: want NAME=BINARY", s)
		}
		if err := add(name, bin, ""); err != nil {
			return err
		}
	}
	for _, s := range skips {
		name, reason, _ := strings.Cut(s, "=")
		if err := add(name, "", reason); err != nil {
			return err
		}
	}
	if *floor {
		if err := add("floor", "", ""); err != nil {
			return err
		}
	}
	var live, runtimes []*contender
	for _, c := range all {
		if c.skip == "" {
			live = append(live, c)
			if !c.isFloor() {
				runtimes = append(runtimes, c)
			}
		}
	}
	// Order rows: the order given, floor last.
	byName := map[string]*contender{}
	for _, c := range all {
		byName[c.name] = c
	}

	w := cfg.out
	sectionRun(w, &cfg, all, live, byName)
	sectionSplit(w, &cfg, all, runtimes, byName)
	if cfg.timeBin != "" {
		sectionRSS(w, &cfg, all, runtimes, byName)
	}
	sectionSeqConc(w, &cfg, all, live)
	sectionNotes(w, all, filepath.Dir(filepath.Clean(*state)))

	if !*quiet {
		os.Stdout.Write(w.Bytes())
	}
	if err := cfg.m.write(*metricsFile); err != nil {
		return err
	}
	if *md != "" {
		return os.WriteFile(*md, w.Bytes(), 0o644)
	}
	return nil
}

func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}

// rotate returns live rotated by i so that no contender always goes first.
func rotate(live []*contender, i int) []*contender {
	n := len(live)
	out := make([]*contender, n)
	for j := range live {
		out[j] = live[(i+j)%n]
	}
	return out
}

func skipRow(c *contender, cols int) string {
	row := "| " + c.name + " | " + c.skip
	for i := 2; i < cols; i++ {
		row += " | —"
	}
	return row + " |\n"
}

// ---------------------------------------------------------------------------
// (a) run of /bin/true, foreground, interleaved round-robin.

func sectionRun(w io.Writer, cfg *benchCfg, all, live []*contender, byName map[string]*contender) {
	progress("(a) run /bin/true: %d warm-up + %d iterations per contender, interleaved", cfg.warm, cfg.iters)
	times := map[string]samples{}
	fails := map[string]int{}
	for i := -cfg.warm; i < cfg.iters; i++ {
		for _, c := range rotate(live, i+cfg.warm) {
			id := fmt.Sprintf("a%d-%s", i+cfg.warm, c.name)
			r := run(c, c.runArgv(id), false)
			reapStrays(c)
			if i < 0 {
				if r.err != nil {
					fails[c.name]++
					c.fail("run (warm-up)", r.err)
				}
				continue
			}
			if r.err != nil {
				fails[c.name]++
				c.fail("run", r.err)
				continue
			}
			times[c.name] = append(times[c.name], r.dur)
		}
	}
	crun := medianOK(times, fails, "crun", cfg.iters)
	floor := medianOK(times, fails, "floor", cfg.iters)
	fmt.Fprintf(w, "### (a) `run` of /bin/true, foreground (%d interleaved iterations, ms)\n\n", cfg.iters)
	fmt.Fprintln(w, "| contender | median (min–max) ms | × crun | × floor | failures |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, c := range all {
		if c.skip != "" {
			cfg.m.err("a."+c.name+".err", c.skip)
			fmt.Fprint(w, skipRow(c, 5))
			continue
		}
		f := fails[c.name]
		if f > 0 {
			cfg.m.err("a."+c.name+".err", fmt.Sprintf("%d failures: %s", f, c.firstErr()))
			fmt.Fprintf(w, "| %s | FAILED (%d ok) | — | — | **%d/%d** |\n", c.name, len(times[c.name]), f, cfg.iters+cfg.warm)
			continue
		}
		m := times[c.name].median()
		cfg.m.ms("a."+c.name+".ms", m)
		fmt.Fprintf(w, "| %s | %s | %s | %s | 0/%d |\n", c.name, cell(times[c.name]), ratio(m, crun), ratio(m, floor), cfg.iters+cfg.warm)
	}
	fmt.Fprintln(w)
}

// medianOK is the median of a contender that had no failure, else 0.
func medianOK(times map[string]samples, fails map[string]int, name string, n int) time.Duration {
	if fails[name] > 0 || len(times[name]) == 0 {
		return 0
	}
	return times[name].median()
}

// ---------------------------------------------------------------------------
// (b) the buildah split.

var verbs = []string{"create", "start", "state", "delete", "sum"}

// cycle runs create, start, (wait), state, delete once. timeBin, when set,
// wraps each verb with GNU time to read the peak RSS instead.
func cycle(c *contender, id string, timeBin string) (d map[string]time.Duration, rss map[string]int64, err error) {
	d = map[string]time.Duration{}
	rss = map[string]int64{}
	pidFile := filepath.Join(c.bundle, "pid")
	os.Remove(pidFile)
	wrap := func(verb string, argv []string, capture bool) result {
		if timeBin == "" {
			return run(c, argv, capture)
		}
		tf := c.root + ".time"
		r := run(c, append([]string{timeBin, "-f", "%M", "-o", tf}, argv...), capture)
		if b, err := os.ReadFile(tf); err == nil {
			rss[verb] = lastInt(b)
		}
		return r
	}
	r := wrap("create", c.argv("create", "--bundle", c.bundle, "--pid-file", pidFile, id), false)
	d["create"] = r.dur
	if r.err != nil {
		// leave nothing behind for the next cycle
		run(c, c.argv("delete", "--force", id), false)
		reapStrays(nil)
		return d, rss, fmt.Errorf("create: %w", r.err)
	}
	b, err := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		run(c, c.argv("delete", "--force", id), false)
		reapStrays(nil)
		return d, rss, fmt.Errorf("create: no pid in --pid-file: %v %q", err, b)
	}
	// The process parked between create and start (the pid-file PID): its
	// resident size now, read by us (the runtime's create has exited).
	if vm, anon, err := procRSS(pid); err == nil {
		rss["parked"], rss["parkedAnon"] = vm, anon
	}
	r = wrap("start", c.argv("start", id), false)
	d["start"] = r.dur
	if r.err != nil {
		run(c, c.argv("delete", "--force", id), false)
		reapStrays(nil)
		return d, rss, fmt.Errorf("start: %w", r.err)
	}
	ru, err := waitExit(pid, 10*time.Second)
	if err != nil {
		run(c, c.argv("delete", "--force", id), false)
		reapStrays(nil)
		return d, rss, err
	}
	if ru != nil {
		rss["init"] = ru.Maxrss
	}
	r = wrap("state", c.argv("state", id), true)
	d["state"] = r.dur
	if r.err == nil {
		var st struct {
			Status string `json:"status"`
		}
		if jerr := json.Unmarshal(r.out, &st); jerr != nil {
			r.err = fmt.Errorf("state output is not JSON: %v: %q", jerr, r.out)
		} else if st.Status != "stopped" {
			r.err = fmt.Errorf("state after exit is %q, want stopped", st.Status)
		}
	}
	if r.err != nil {
		run(c, c.argv("delete", "--force", id), false)
		reapStrays(nil)
		return d, rss, fmt.Errorf("state: %w", r.err)
	}
	r = wrap("delete", c.argv("delete", id), false)
	d["delete"] = r.dur
	if r.err != nil {
		run(c, c.argv("delete", "--force", id), false)
		reapStrays(nil)
		return d, rss, fmt.Errorf("delete: %w", r.err)
	}
	reapStrays(c)
	d["sum"] = d["create"] + d["start"] + d["state"] + d["delete"]
	return d, rss, nil
}

// procRSS reads VmRSS and RssAnon (KiB) from /proc/PID/status.
func procRSS(pid int) (vm, anon int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			vm = lastKiB(v)
		case "RssAnon":
			anon = lastKiB(v)
		}
	}
	if vm == 0 {
		return 0, 0, fmt.Errorf("pid %d: no VmRSS in /proc/%d/status", pid, pid)
	}
	return vm, anon, nil
}

// lastKiB parses "   2345 kB".
func lastKiB(v string) int64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n
}

func lastInt(b []byte) int64 {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
	return n
}

func sectionSplit(w io.Writer, cfg *benchCfg, all, runtimes []*contender, byName map[string]*contender) {
	progress("(b) create/start/state/delete: %d warm-up + %d cycles per runtime, interleaved", cfg.warm, cfg.cycles)
	times := map[string]map[string]samples{}
	fails := map[string]int{}
	for _, c := range runtimes {
		times[c.name] = map[string]samples{}
	}
	for i := -cfg.warm; i < cfg.cycles; i++ {
		for _, c := range rotate(runtimes, i+cfg.warm) {
			id := fmt.Sprintf("b%d-%s", i+cfg.warm, c.name)
			d, _, err := cycle(c, id, "")
			if err != nil {
				fails[c.name]++
				c.fail("cycle", err)
				continue
			}
			if i < 0 {
				continue
			}
			for _, v := range verbs {
				times[c.name][v] = append(times[c.name][v], d[v])
			}
		}
	}
	crunSum := time.Duration(0)
	if fails["crun"] == 0 && times["crun"] != nil {
		crunSum = times["crun"]["sum"].median()
	}
	floor := time.Duration(0)
	// the floor's median from section (a) is not kept here; ratios to the
	// floor for the sum use a fresh small sample so the table is self-contained.
	if f := byName["floor"]; f != nil && f.skip == "" {
		var s samples
		for i := 0; i < 15; i++ {
			r := run(f, floorArgv, false)
			if r.err == nil {
				s = append(s, r.dur)
			}
		}
		floor = s.median()
	}
	fmt.Fprintf(w, "### (b) buildah split: create, start, state (after exit), delete (%d interleaved cycles, ms; wait for exit not counted)\n\n", cfg.cycles)
	fmt.Fprintln(w, "| runtime | create | start | state | delete | sum | sum × crun | sum × floor | failed cycles |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, c := range all {
		if c.isFloor() {
			continue
		}
		if c.skip != "" {
			cfg.m.err("b."+c.name+".err", c.skip)
			fmt.Fprint(w, skipRow(c, 9))
			continue
		}
		if fails[c.name] > 0 {
			cfg.m.err("b."+c.name+".err", fmt.Sprintf("%d failed cycles: %s", fails[c.name], c.firstErr()))
			fmt.Fprintf(w, "| %s | FAILED | — | — | — | — | — | — | **%d/%d** |\n", c.name, fails[c.name], cfg.cycles+cfg.warm)
			continue
		}
		t := times[c.name]
		cfg.m.ms("b."+c.name+".sum_ms", t["sum"].median())
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | 0/%d |\n", c.name,
			cell(t["create"]), cell(t["start"]), cell(t["state"]), cell(t["delete"]), cell(t["sum"]),
			ratio(t["sum"].median(), crunSum), ratio(t["sum"].median(), floor), cfg.cycles+cfg.warm)
	}
	if floor > 0 {
		fmt.Fprintf(w, "\nfloor median for this section (15 fresh runs): %s ms\n", ms(floor))
	}
	fmt.Fprintln(w)
}

// ---------------------------------------------------------------------------
// (c) peak RSS.

func sectionRSS(w io.Writer, cfg *benchCfg, all, runtimes []*contender, byName map[string]*contender) {
	progress("(c) peak RSS under %s -f %%M: %d runs per runtime and verb", cfg.timeBin, cfg.rssN)
	res := map[string]map[string]int64{}
	fails := map[string]int{}
	for _, c := range runtimes {
		res[c.name] = map[string]int64{}
	}
	tf := filepath.Join(os.TempDir(), fmt.Sprintf("benchtool-rss-%d", os.Getpid()))
	defer os.Remove(tf)
	measure := func(c *contender, argv []string) (int64, error) {
		os.Remove(tf)
		r := run(c, append([]string{cfg.timeBin, "-f", "%M", "-o", tf}, argv...), false)
		reapStrays(c)
		if r.err != nil {
			return 0, r.err
		}
		b, err := os.ReadFile(tf)
		if err != nil {
			return 0, err
		}
		return lastInt(b), nil
	}
	setMax := func(m map[string]int64, k string, v int64) {
		if v > m[k] {
			m[k] = v
		}
	}
	for i := 0; i < cfg.rssN; i++ {
		for _, c := range rotate(runtimes, i) {
			k, err := measure(c, c.runArgv(fmt.Sprintf("c%d-%s", i, c.name)))
			if err != nil {
				fails[c.name]++
				c.fail("run under time", err)
				continue
			}
			setMax(res[c.name], "run", k)
			_, rss, err := cycle(c, fmt.Sprintf("cc%d-%s", i, c.name), cfg.timeBin)
			if err != nil {
				fails[c.name]++
				c.fail("cycle under time", err)
				continue
			}
			for v, k := range rss {
				setMax(res[c.name], v, k)
			}
		}
	}
	// reference: what GNU time reports for trivial programs
	var floorRSS, trueRSS int64
	if f := byName["floor"]; f != nil {
		for i := 0; i < 3; i++ {
			k, _ := measure(f, floorArgv)
			floorRSS = max(floorRSS, k)
			k, _ = measure(f, []string{"/bin/true"})
			trueRSS = max(trueRSS, k)
		}
	}
	crun := int64(0)
	if fails["crun"] == 0 && res["crun"] != nil {
		crun = res["crun"]["run"]
	}
	runc := int64(0)
	if fails["runc"] == 0 && res["runc"] != nil {
		runc = res["runc"]["run"]
	}
	crunParked := int64(0)
	if fails["crun"] == 0 && res["crun"] != nil {
		crunParked = res["crun"]["parked"]
	}
	fmt.Fprintf(w, "### (c) peak RSS, MiB (max of %d runs; GNU time %%M = max RSS of the runtime process and every descendant it reaped; parked: VmRSS and RssAnon in /proc/PID/status of the pid-file PID right after `create`, before `start`)\n\n", cfg.rssN)
	fmt.Fprintln(w, "| runtime | run | run × crun | run × runc | create | start | state | delete | container init (reaped by harness) | max of all | failures | parked after create: VmRSS (RssAnon) | parked × crun |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range all {
		if c.isFloor() {
			continue
		}
		if c.skip != "" {
			cfg.m.err("c."+c.name+".err", c.skip)
			fmt.Fprint(w, skipRow(c, 13))
			continue
		}
		r := res[c.name]
		if fails[c.name] > 0 {
			cfg.m.err("c."+c.name+".err", fmt.Sprintf("%d failures: %s", fails[c.name], c.firstErr()))
			fmt.Fprintf(w, "| %s | FAILED | — | — | — | — | — | — | — | — | **%d/%d** | — | — |\n", c.name, fails[c.name], cfg.rssN)
			continue
		}
		var mx int64
		for k, v := range r {
			if k != "parked" && k != "parkedAnon" { // GNU time's numbers only
				mx = max(mx, v)
			}
		}
		cfg.m.num("c."+c.name+".run_kib", float64(r["run"]))
		parked, parkedX := "—", "—"
		if r["parked"] > 0 {
			cfg.m.num("c."+c.name+".parked_kib", float64(r["parked"]))
			cfg.m.num("c."+c.name+".parked_anon_kib", float64(r["parkedAnon"]))
			parked = fmt.Sprintf("%s (%s)", kib(r["parked"]), kib(r["parkedAnon"]))
			if crunParked > 0 {
				parkedX = fmt.Sprintf("%.2f×", float64(r["parked"])/float64(crunParked))
			}
		} else {
			cfg.m.err("c."+c.name+".parked_kib", "no /proc/PID/status of the pid-file PID after create")
		}
		rat := func(b int64) string {
			if b == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f×", float64(r["run"])/float64(b))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | 0 | %s | %s |\n", c.name, kib(r["run"]), rat(crun), rat(runc),
			kib(r["create"]), kib(r["start"]), kib(r["state"]), kib(r["delete"]), kib(r["init"]), kib(mx), parked, parkedX)
	}
	if floorRSS > 0 {
		fmt.Fprintf(w, "\nreference under the same GNU time: floor (`%s`) %s MiB, host /bin/true %s MiB\n",
			strings.Join(floorArgv, " "), kib(floorRSS), kib(trueRSS))
	}
	fmt.Fprintln(w)
}

// ---------------------------------------------------------------------------
// (d) 100 sequential runs; 32 concurrent runs.

func sectionSeqConc(w io.Writer, cfg *benchCfg, all, live []*contender) {
	progress("(d) %d sequential runs per contender, then %d rounds of %d concurrent runs", cfg.seq, cfg.concRounds, cfg.conc)
	type seqRes struct {
		total time.Duration
		fails int
	}
	seq := map[string]seqRes{}
	for _, c := range live {
		var s seqRes
		t0 := time.Now()
		for i := 0; i < cfg.seq; i++ {
			r := run(c, c.runArgv(fmt.Sprintf("d%d-%s", i, c.name)), false)
			reapStrays(c)
			if r.err != nil {
				s.fails++
				c.fail("sequential run", r.err)
			}
		}
		s.total = time.Since(t0)
		seq[c.name] = s
	}
	type concRes struct {
		walls     samples
		fails     int
		leftovers int
	}
	conc := map[string]*concRes{}
	for _, c := range live {
		conc[c.name] = &concRes{}
	}
	for round := 0; round < cfg.concRounds; round++ {
		for _, c := range rotate(live, round) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			nf := 0
			start := make(chan struct{})
			for i := 0; i < cfg.conc; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					r := run(c, c.runArgv(fmt.Sprintf("p%d-%d-%s", round, i, c.name)), false)
					if r.err != nil {
						mu.Lock()
						nf++
						c.fail("concurrent run", r.err)
						mu.Unlock()
					}
				}(i)
			}
			t0 := time.Now()
			close(start)
			wg.Wait()
			wall := time.Since(t0)
			reapStrays(c)
			cr := conc[c.name]
			cr.walls = append(cr.walls, wall)
			cr.fails += nf
			if !c.isFloor() {
				if ents, err := os.ReadDir(c.root); err == nil {
					for _, e := range ents {
						if strings.HasPrefix(e.Name(), fmt.Sprintf("p%d-", round)) {
							cr.leftovers++
						}
					}
				}
			}
		}
	}
	fmt.Fprintf(w, "### (d) %d sequential `run`s; %d concurrent `run`s with distinct IDs (%d rounds)\n\n", cfg.seq, cfg.conc, cfg.concRounds)
	fmt.Fprintf(w, "| contender | %d sequential: total s | per run ms | failures | %d concurrent: wall ms median (min–max) | failures | state dirs left |\n", cfg.seq, cfg.conc)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, c := range all {
		if c.skip != "" {
			cfg.m.err("d."+c.name+".err", c.skip)
			fmt.Fprint(w, skipRow(c, 7))
			continue
		}
		s := seq[c.name]
		cr := conc[c.name]
		cfg.m.num("d."+c.name+".conc_fails", float64(cr.fails))
		if cr.fails < cfg.conc*cfg.concRounds {
			cfg.m.ms("d."+c.name+".conc_ms", cr.walls.median())
		} else {
			cfg.m.err("d."+c.name+".conc_ms", "every concurrent run failed: "+c.firstErr())
		}
		seqCell := fmt.Sprintf("%.3f", s.total.Seconds())
		perRun := ms(s.total / time.Duration(cfg.seq))
		if s.fails > 0 {
			seqCell, perRun = "FAILED", "—"
		}
		concCell := cell(cr.walls)
		if cr.fails > 0 {
			concCell = "FAILED"
		}
		left := strconv.Itoa(cr.leftovers)
		if c.isFloor() {
			left = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", c.name, seqCell, perRun,
			failCell(s.fails, cfg.seq), concCell, failCell(cr.fails, cfg.conc*cfg.concRounds), left)
	}
	fmt.Fprintln(w)
}

func failCell(n, of int) string {
	if n > 0 {
		return fmt.Sprintf("**%d/%d**", n, of)
	}
	return fmt.Sprintf("0/%d", of)
}

func sectionNotes(w io.Writer, all []*contender, work string) {
	var notes []string
	for _, c := range all {
		for _, m := range c.errMsgs {
			m = strings.ReplaceAll(m, work, "$WORK")
			notes = append(notes, fmt.Sprintf("- %s failure: %s", c.name, oneLine(m)))
		}
		if c.strays > 0 {
			notes = append(notes, fmt.Sprintf("- %s: %d orphaned processes were reaped by the harness (subreaper)", c.name, c.strays))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "### notes")
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(notes, "\n"))
		fmt.Fprintln(w)
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// hyperfineTable prints a markdown table from hyperfine --export-json files,
// one per contender (NAME=FILE, or NAME=!REASON for a failed one).
func hyperfineTable(args []string) error {
	type row struct {
		name, fail string
		times      samples
		mean, sd   float64
	}
	var rows []row
	med := map[string]time.Duration{}
	for _, a := range args {
		name, file, _ := strings.Cut(a, "=")
		r := row{name: name}
		if strings.HasPrefix(file, "!") {
			r.fail = file[1:]
			rows = append(rows, r)
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			r.fail = err.Error()
			rows = append(rows, r)
			continue
		}
		var hf struct {
			Results []struct {
				Mean   float64   `json:"mean"`
				Stddev float64   `json:"stddev"`
				Times  []float64 `json:"times"`
			} `json:"results"`
		}
		if err := json.Unmarshal(b, &hf); err != nil || len(hf.Results) == 0 {
			r.fail = fmt.Sprintf("bad hyperfine JSON %s: %v", file, err)
			rows = append(rows, r)
			continue
		}
		for _, t := range hf.Results[0].Times {
			r.times = append(r.times, time.Duration(t*1e9))
		}
		r.mean, r.sd = hf.Results[0].Mean*1e3, hf.Results[0].Stddev*1e3
		med[name] = r.times.median()
		rows = append(rows, r)
	}
	fmt.Println("| contender | median (min–max) ms | mean ± σ ms | × crun | × floor |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range rows {
		if r.fail != "" {
			fmt.Printf("| %s | %s | — | — | — |\n", r.name, oneLine(r.fail))
			continue
		}
		m := r.times.median()
		fmt.Printf("| %s | %s | %.2f ± %.2f | %s | %s |\n", r.name, cell(r.times), r.mean, r.sd, ratio(m, med["crun"]), ratio(m, med["floor"]))
	}
	return nil
}
