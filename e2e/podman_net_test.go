package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPodman drives rootless podman (as urunsub: podman needs subordinate
// IDs) with urun as its runtime, the way a person uses it: the default
// network (slirp4netns, a network namespace podman made and urun joins by
// path), a published port served on port 80 inside, a pod whose members
// share the infra container's namespaces, and --userns=keep-id. The image
// is the suite's base image (imported from the busybox rootfs, no registry).
func TestPodmanNetwork(t *testing.T) {
	s := getSuite(t)
	a := accounts[0]
	a.setup(t)
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman is not installed: run scripts/deps.sh as root (apt-get install podman slirp4netns uidmap)")
	}
	// slirp4netns opens /dev/net/tun as the account; Debian makes it 0666,
	// some machines 0600, and then every runtime fails before it is called.
	if st, err := os.Stat("/dev/net/tun"); err != nil {
		t.Fatalf("/dev/net/tun: %v (slirp4netns needs it)", err)
	} else if st.Mode().Perm()&0o006 != 0o006 {
		t.Logf("note: /dev/net/tun is %v; making it 0666 (Debian's default) for slirp4netns", st.Mode().Perm())
		if err := os.Chmod("/dev/net/tun", 0o666); err != nil {
			t.Fatal(err)
		}
	}
	// podman shares buildah's storage (the base image is there) and
	// XDG_RUNTIME_DIR; the pause process it leaves is ended at the end.
	base := append(append([]string{"podman"}, a.global...), "--runtime", s.runtime, "--cgroup-manager", "cgroupfs", "--events-backend", "file")
	podman := func(timeout time.Duration, args ...string) *result {
		r := a.runCmd(nil, timeout, append(append([]string{}, base...), args...))
		recordTiming("podman "+args[0]+"/"+a.name, r.Dur, r.Code)
		return r
	}
	must := func(args ...string) string {
		t.Helper()
		r := podman(time.Minute, args...)
		if r.Code != 0 || r.TimedOut {
			t.Fatalf("podman %s: %s", strings.Join(args, " "), r.describe())
		}
		return r.Stdout
	}
	t.Cleanup(func() {
		podman(time.Minute, "pod", "rm", "-af")
		podman(time.Minute, "rm", "-af")
		a.endPodmanPause()
		a.assertClean(t, "after the podman cases")
	})
	const img = baseImage

	t.Run("default network", func(t *testing.T) {
		out := must("run", "--pull=never", "--rm", img, "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort")
		if out != "lo\ntap0\n" {
			t.Errorf("interfaces: %q, want lo and slirp4netns' tap0", out)
		}
	})

	t.Run("published port 80", func(t *testing.T) {
		port := freePort(t)
		must("run", "--pull=never", "-d", "--name", "web", "-p", "127.0.0.1:"+port+":80", img,
			"sh", "-c", "mkdir -p /www && echo served-on-80 >/www/index.html && exec httpd -f -p 80 -h /www")
		body := httpGet(t, "http://127.0.0.1:"+port+"/")
		if body != "served-on-80\n" {
			t.Errorf("GET: %q", body)
		}
		// podman exec enters the container's namespaces, the joined one too.
		if out := must("exec", "web", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort"); out != "lo\ntap0\n" {
			t.Errorf("podman exec: interfaces %q, want the container's lo and tap0", out)
		}
		must("rm", "-f", "web")
	})

	t.Run("pod", func(t *testing.T) {
		must("pod", "create", "--name", "p1")
		must("run", "--pull=never", "-d", "--pod", "p1", "--name", "first", img,
			"sh", "-c", "mkdir -p /www && echo from-first >/www/i && hostname >/www/h && exec httpd -f -p 8081 -h /www")
		// The second member reaches the first on localhost (one network
		// namespace) and sees the same host name. httpd may not listen yet:
		// retry inside the container until it answers (bounded).
		out := must("run", "--pull=never", "--rm", "--pod", "p1", img, "sh", "-c",
			"for i in $(seq 50); do wget -qO- http://localhost:8081/i 2>/dev/null && break; usleep 100000; done; wget -qO- http://localhost:8081/h; hostname")
		lines := strings.Split(out, "\n")
		if len(lines) < 3 || lines[0] != "from-first" || lines[1] != lines[2] {
			t.Errorf("pod member: %q (want from-first, then the same host name twice)", out)
		}
		must("pod", "rm", "-f", "p1")
	})

	t.Run("keep-id", func(t *testing.T) {
		// --network=host: with keep-id podman asks the runtime to make the
		// network namespace (urun does not) and points slirp4netns at it.
		out := must("run", "--pull=never", "--rm", "--userns=keep-id", "--network=host", img, "sh", "-c",
			"id -u; id -g; grep CapEff /proc/self/status; touch /tmp/f; stat -c %u /tmp/f")
		want := strconv.Itoa(a.uid) + "\n" + strconv.Itoa(a.gid) + "\nCapEff:\t0000000000000000\n" + strconv.Itoa(a.uid) + "\n"
		if out != want {
			t.Errorf("keep-id: %q, want %q", out, want)
		}
	})

	t.Run("keep-id default network refused", func(t *testing.T) {
		// podman then wants slirp4netns in a network namespace made by
		// the runtime: refused at create, saying what works (not a hang).
		r := podman(time.Minute, "run", "--pull=never", "--rm", "--userns=keep-id", img, "true")
		if r.Code == 0 || r.TimedOut || !strings.Contains(r.Combined, "a new network namespace for slirp4netns") || !strings.Contains(r.Combined, "use --network=host") {
			t.Errorf("keep-id with the default network: want urun's refusal naming --network=host: %s", r.describe())
		}
	})

	t.Run("keep-id pod exec", func(t *testing.T) {
		// The members of a keep-id pod join its user namespace, whose root
		// is not mapped; podman exec enters it the same way.
		must("pod", "create", "--name", "p2", "--userns=keep-id", "--network=host")
		must("run", "--pull=never", "-d", "--pod", "p2", "--name", "member", img, "sleep", "1000")
		pid := strings.TrimSpace(must("inspect", "-f", "{{.State.Pid}}", "member"))
		userns, err := os.Readlink("/proc/" + pid + "/ns/user")
		if err != nil {
			t.Fatal(err)
		}
		// (The capabilities are podman's to choose: it gives an exec'd
		// non-root process its set as ambient, with runc too.)
		out := must("exec", "member", "sh", "-c", "id -u; readlink /proc/self/ns/user")
		if want := strconv.Itoa(a.uid) + "\n" + userns + "\n"; out != want {
			t.Errorf("podman exec in a keep-id pod: %q, want %q", out, want)
		}
		must("pod", "rm", "-f", "p2")
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// httpGet fetches url, retrying while the server in the container starts
// (podman -d returns once the process runs, before it listens).
func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond) // polling a server we cannot be told about
	}
}
