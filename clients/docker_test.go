package clients

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const image = "urun-busybox"

var (
	dockerOnce sync.Once
	dockerErr  error
	dockerHost string
	dockerBin  string
)

// dockerd starts the suite's dockerd once, on the suite's containerd,
// with private data, exec root and socket, urun added as runtime "urun",
// and no default bridge or iptables rules (the host's network is left
// alone: --network=none exercises the same refusal as the bridge). The
// image is the busybox rootfs, imported.
func dockerd(t *testing.T) {
	t.Helper()
	sock := containerd(t)
	dockerOnce.Do(func() {
		// Debian's client (docker.io), matched to its daemon.
		if dockerBin, dockerErr = exec.LookPath("/usr/bin/docker"); dockerErr != nil {
			if dockerBin, dockerErr = exec.LookPath("docker"); dockerErr != nil {
				return
			}
		}
		dockerHost = "unix://" + filepath.Join(s.dir, "d.sock")
		_, dockerErr = startDaemon("dockerd", func() error {
			_, err := runQuiet(dockerBin, "-H", dockerHost, "version")
			return err
		}, "dockerd", "--data-root", filepath.Join(s.dir, "d-data"), "--exec-root", filepath.Join(s.dir, "d-exec"),
			"-H", dockerHost, "--pidfile", filepath.Join(s.dir, "d.pid"), "--containerd", sock,
			"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
			"--add-runtime", "urun="+s.runtime)
		if dockerErr != nil {
			return
		}
		tar := exec.Command("tar", "-C", s.rootfs, "-c", ".")
		imp := exec.Command(dockerBin, "-H", dockerHost, "import", "-", image)
		if imp.Stdin, dockerErr = tar.StdoutPipe(); dockerErr != nil {
			return
		}
		if dockerErr = tar.Start(); dockerErr != nil {
			return
		}
		out, err := imp.CombinedOutput()
		if werr := tar.Wait(); err == nil {
			err = werr
		}
		if err != nil {
			dockerErr = fmt.Errorf("docker import: %v: %s", err, out)
		}
	})
	if dockerErr != nil {
		t.Fatalf("dockerd: %v", dockerErr)
	}
}

func docker(t *testing.T, args ...string) Result {
	t.Helper()
	dockerd(t)
	return run(t, dockerBin, append([]string{"-H", dockerHost}, args...)...)
}

// dockerRun is docker run with the runtime under test.
func dockerRun(t *testing.T, flags []string, args ...string) Result {
	t.Helper()
	dockerd(t)
	rt := "urun"
	if !s.isURun {
		rt = "runc"
	}
	full := append([]string{"run", "--runtime=" + rt}, flags...)
	return docker(t, append(append(full, image), args...)...)
}

// TestDockerNetworkRefused: Docker's bridge and none networks ask for a
// new network namespace and libnetwork's prestart hook; urun refuses the
// container at create, naming both and the --network=host that works.
func TestDockerNetworkRefused(t *testing.T) {
	r := dockerRun(t, []string{"--rm", "--network=none"}, "true")
	if !s.isURun {
		if r.Code != 0 {
			t.Errorf("docker run --network=none (%s): %s", s.runtime, r)
		}
		return
	}
	if r.Code != 125 || !strings.Contains(r.Stderr, "a new network namespace, with hooks.prestart[0] (libnetwork-setkey) to set it up") ||
		!strings.Contains(r.Stderr, "with Docker, --network=host works") {
		t.Errorf("docker run --network=none: %s", r)
	}
	if r := docker(t, "ps", "-aq"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("containers left after the refusal: %s", r.Stdout)
	}
}

// TestDockerHostNetwork: plain run, exit status, -d with docker top, stop
// and rm.
// OWN-NETNS: --network=host passes the path of the host's network
// namespace, which urun runs in; urun stays in it (issue 15).
func TestDockerHostNetwork(t *testing.T) {
	host := []string{"--rm", "--network=host"}
	if r := dockerRun(t, host, "sh", "-c", "echo hello; id -u"); r.Code != 0 || r.Stdout != "hello\n0\n" {
		t.Errorf("docker run: %s", r)
	}
	if r := dockerRun(t, host, "sh", "-c", "exit 3"); r.Code != 3 {
		t.Errorf("docker run of exit 3: %s", r)
	}

	r := dockerRun(t, []string{"-d", "--network=host"}, "sh", "-c", "sleep 1001 & exec sleep 1002")
	if r.Code != 0 {
		t.Fatalf("docker run -d: %s", r)
	}
	id := strings.TrimSpace(r.Stdout)
	defer docker(t, "rm", "-f", id)
	main, _ := strconv.Atoi(strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.Pid}}", id).Stdout))
	var top map[int]string
	waitFor(t, "docker top to list sleep 1001 and sleep 1002", func() bool {
		top = dockerTop(t, id)
		return len(top) == 2 && top[main] == "sleep 1002"
	})
	child := 0
	for pid, cmd := range top {
		if pid != main && cmd == "sleep 1001" {
			child = pid
		}
	}
	if child == 0 {
		t.Errorf("docker top: %v, want the main process %d (sleep 1002) and sleep 1001", top, main)
	}
	// docker exec: runc exec --process --detach --pid-file through the
	// shim; output and exit status come back, and a detached one is ended
	// by docker stop with the container.
	if r := docker(t, "exec", id, "sh", "-c", "echo in-exec; exit 4"); r.Code != 4 || r.Stdout != "in-exec\n" {
		t.Errorf("docker exec: %s", r)
	}
	if r := docker(t, "exec", "-d", id, "sleep", "1003"); r.Code != 0 {
		t.Errorf("docker exec -d: %s", r)
	}
	var execd int
	waitFor(t, "docker top to list sleep 1003", func() bool {
		for pid, cmd := range dockerTop(t, id) {
			if cmd == "sleep 1003" {
				execd = pid
			}
		}
		return execd != 0
	})
	if r := docker(t, "stop", "-t", "2", id); r.Code != 0 {
		t.Errorf("docker stop: %s", r)
	}
	// With no PID namespace sleep is not PID 1, so SIGTERM ends it; under
	// runc it is, ignores SIGTERM and gets SIGKILL after the 2 s.
	want := "143"
	if !s.isURun {
		want = "137"
	}
	if code := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.ExitCode}}", id).Stdout); code != want {
		t.Errorf("exit code after docker stop %s, want %s", code, want)
	}
	if child != 0 && !gone(child) {
		t.Errorf("sleep 1001 (%d) outlived its container", child)
	}
	if execd != 0 && !gone(execd) {
		t.Errorf("the exec'd sleep 1003 (%d) outlived its container", execd)
	}
	if r := docker(t, "rm", id); r.Code != 0 {
		t.Errorf("docker rm: %s", r)
	}
}

// dockerTop maps PID to command line from docker top (docker runs ps
// itself, with the PIDs `urun ps --format json` gave).
func dockerTop(t *testing.T, id string) map[int]string {
	t.Helper()
	r := docker(t, "top", id, "-o", "pid,args")
	if r.Code != 0 {
		t.Fatalf("docker top: %s", r)
	}
	out := map[int]string{}
	for _, line := range strings.Split(r.Stdout, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("docker top line %q", line)
		}
		out[pid] = strings.Join(f[1:], " ")
	}
	return out
}
