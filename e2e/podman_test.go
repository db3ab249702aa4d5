package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestPodmanHooks: `podman run --hooks-dir D` with a prestart hook in
// podman's hook JSON format, as a person installs one (GPU toolkits do the
// same): the runtime runs it, with the container's state on stdin, and
// podman's run succeeds. --network=none: podman's own network namespace
// is joined by path (TestPodmanNetwork covers that); none keeps this to hooks.
func TestPodmanHooks(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a *account) {
		podman, err := exec.LookPath("podman")
		if err != nil {
			t.Fatalf("podman is not installed: run scripts/deps.sh as root")
		}
		dir := filepath.Join(a.work, "podman-hooks")
		hooksDir := filepath.Join(dir, "hooks.d")
		out := filepath.Join(dir, "prestart.state")
		script := filepath.Join(dir, "record.sh")
		hook := map[string]any{
			"version": "1.0.0",
			"hook":    map[string]any{"path": script, "args": []string{"record.sh", out}, "env": []string{"PATH=/usr/bin:/bin"}, "timeout": 30},
			"when":    map[string]any{"always": true},
			"stages":  []string{"prestart"},
		}
		data, _ := json.Marshal(hook)
		if err := os.MkdirAll(hooksDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			path, content string
			mode          os.FileMode
		}{{script, "#!/bin/sh\ncat > \"$1\"\n", 0o755}, {filepath.Join(hooksDir, "record.json"), string(data), 0o644}} {
			if err := os.WriteFile(f.path, []byte(f.content), f.mode); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []string{dir, hooksDir, script, filepath.Join(hooksDir, "record.json")} {
			os.Chown(p, a.uid, a.gid)
		}
		args := append(append([]string{podman}, a.global...), "--runtime", suite.runtime, "--hooks-dir", hooksDir,
			"run", "--rm", "--network=none", "--pull=never", baseImage, "echo", "hello from podman")
		r := a.runCmd(nil, 2*time.Minute, args)
		a.endPodmanPause()
		if r.Code != 0 || !strings.Contains(r.Stdout, "hello from podman") {
			t.Fatalf("podman run: %s", r.describe())
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("the prestart hook did not run: %v\n%s", err, r.describe())
		}
		var st specs.State
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatalf("hook's stdin %q: %v", raw, err)
		}
		if st.Status != specs.StateCreating || st.ID == "" || st.Pid <= 0 || !filepath.IsAbs(st.Bundle) ||
			st.Annotations["io.container.manager"] != "libpod" {
			t.Errorf("the prestart hook saw %s", fmt.Sprintf("%+v", st))
		}
	})
}

// endPodmanPause ends rootless podman's pause process (it keeps podman's
// user namespace for later calls; it is podman's, not the runtime's), so
// the leftover check sees only what the runtime left.
func (a *account) endPodmanPause() {
	data, err := os.ReadFile(filepath.Join(a.xdg, "libpod", "tmp", "pause.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
