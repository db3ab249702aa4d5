//go:build bench

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The targets table is computed from metrics files: a met target, a missed
// one, one whose contender failed (its error shown) and one not measured.
func TestTargetsTable(t *testing.T) {
	dir := t.TempDir()
	a := metrics{}
	a.num("a.urun.ms", 4)
	a.num("a.crun.ms", 10)
	a.num("c.urun.run_kib", 6000)
	a.num("c.crun.run_kib", 3000)
	a.num("d.urun.conc_ms", 100)
	a.num("d.crun.conc_ms", 200)
	a.num("d.urun.conc_fails", 2)
	a.num("e.urun.s", 4.93)
	a.num("e.crun.s", 4.92)
	h := metrics{}
	h.num("h.urunsub.urun.ms", 9)
	h.err("h.urunsub.crun.err", "33/33 failed: cgroups in hybrid mode not supported")
	p1, p2 := filepath.Join(dir, "a.txt"), filepath.Join(dir, "h.txt")
	if err := a.write(p1); err != nil {
		t.Fatal(err)
	}
	if err := h.write(p2); err != nil {
		t.Fatal(err)
	}
	m, err := readMetrics([]string{p1, p2, filepath.Join(dir, "absent.txt")})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := targetsTable(&b, "T", m); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| uid 0 in a user namespace: `run` ≤ 0.5× crun | (a) | 4.00 ms | crun 10.00 ms | 0.40× (limit 0.5×) | met |",
		"| peak RSS of `run` ≤ crun's | (c) | 5.86 MiB | crun 2.93 MiB | 2.00× (limit 1×) | **missed** |",
		"| 0.50× (limit 1×) | **missed** (2 failures) |",
		"| unprivileged, subuid range (urunsub): `run` ≤ 0.9× crun | (h) | 9.00 ms | crun: — | — | not measured: crun: 33/33 failed: cgroups in hybrid mode not supported |",
		"| 20-RUN buildah build no slower than with crun | (e) | 4.93 s | crun 4.92 s | 1.002× (limit 1×) | **missed** |",
		"| 20-RUN buildah build no slower than with runc | (e) | 4.93 s | runc: — | — | not measured: runc: not measured in this run |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFixSpecMaps(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(`{"process":{"args":["sh"],"terminal":true},"linux":{"namespaces":[{"type":"user"}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fixSpec(p, "/r", "0:1001:1,1:100000:65536", "0:1001:1"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	s := strings.Join(strings.Fields(string(b)), "")
	for _, want := range []string{
		`"uidMappings":[{"containerID":0,"hostID":1001,"size":1},{"containerID":1,"hostID":100000,"size":65536}]`,
		`"gidMappings":[{"containerID":0,"hostID":1001,"size":1}]`,
		`"namespaces":[{"type":"user"}]`, `"args":["/bin/true"]`, `"path":"/r"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("config lacks %s: %s", want, s)
		}
	}
	if err := fixSpec(p, "/r", "0:1001", ""); err == nil {
		t.Error("a mapping without a size was accepted")
	}
}
