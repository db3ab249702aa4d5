package e2e

// HPC: MPI ranks and Slurm tasks launched with `urun launch IMAGE -- CMD`
// as a user would (issue 18): Open MPI's mpirun and Slurm's srun on this
// one node, both accounts, no MCA or PMIx variable set unless the case is
// about it.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mpiImage builds the account's MPI image (owned by it, as an HPC user's
// unpacked image is) once.
func (a *account) mpiImage(t *testing.T) string {
	t.Helper()
	a.mpiOnce.Do(func() {
		img := filepath.Join(a.work, "mpiimg")
		out, err := exec.Command("sh", filepath.Join(suite.repo, "scripts/mkmpiimage.sh"), img, a.name).CombinedOutput()
		if err != nil {
			a.mpiErr = fmt.Errorf("mkmpiimage.sh: %v: %s", err, out)
		}
		a.mpiImg = img
	})
	if a.mpiErr != nil {
		t.Fatal(a.mpiErr)
	}
	return a.mpiImg
}

var rankLine = regexp.MustCompile(`(?m)^rank (\d+) of (\d+) uid (\d+) cwd (\S+) var (\S+) userns (\S+)$`)

// checkRanks asserts that n ranks reported, each as the account, in its
// working directory, with the variable passed through; it returns how
// many distinct user namespaces they ran in.
func (a *account) checkRanks(t *testing.T, r *result, n int, wantVar string) int {
	t.Helper()
	ms := rankLine.FindAllStringSubmatch(r.Stdout, -1)
	if len(ms) != n {
		t.Fatalf("want %d rank lines, got %d: %s", n, len(ms), r.describe())
	}
	seen, userns := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		seen[m[1]] = true
		userns[m[6]] = true
		if m[2] != strconv.Itoa(n) || m[3] != strconv.Itoa(a.uid) || m[4] != a.work || m[5] != wantVar {
			t.Errorf("rank line %q: want size %d, uid %d, cwd %s, var %s", m[0], n, a.uid, a.work, wantVar)
		}
	}
	if len(seen) != n {
		t.Errorf("ranks %v: want %d distinct", seen, n)
	}
	if !strings.Contains(r.Stdout, "pingpong 1024 bytes") {
		t.Errorf("no ping-pong result: %s", r.describe())
	}
	return len(userns)
}

// cmaOff is Open MPI's warning when ranks are in different user
// namespaces.
const cmaOff = "CMA is\nnot available due to different user namespaces"

// waitExit waits (bounded) until pid has exited, on a pidfd.
func waitExit(pid int, d time.Duration) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(d/time.Millisecond))
}

func TestMPIRun(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a *account) {
		img := a.mpiImage(t)
		mpirun := []string{"mpirun", "--oversubscribe", "-np", "4", suite.runtime, "launch", img, "--", "/pingpong"}
		r := a.runCmd([]string{"URUN_TEST_VAR=from-host"}, 2*time.Minute, mpirun)
		if r.Code != 0 {
			t.Fatalf("mpirun: %s", r.describe())
		}
		if ns := a.checkRanks(t, r, 4, "from-host"); ns != 4 {
			t.Errorf("without --join: ranks in %d user namespaces, want 4 (one container each)", ns)
		}

		// Shared memory only: the ranks must reach each other's segments
		// in the host's /dev/shm (a private one makes this fail).
		r = a.runCmd([]string{"URUN_TEST_VAR=x", "OMPI_MCA_btl=self,vader"}, 2*time.Minute, mpirun)
		if r.Code != 0 {
			t.Fatalf("mpirun with btl self,vader only: %s", r.describe())
		}
		a.checkRanks(t, r, 4, "x")

		// --join: one container for the job's ranks on this node, so
		// cross-memory attach works between them.
		join := []string{"mpirun", "--oversubscribe", "-np", "4", suite.runtime, "launch", "--join", img, "--", "/pingpong"}
		r = a.runCmd([]string{"URUN_TEST_VAR=j"}, 2*time.Minute, join)
		if r.Code != 0 {
			t.Fatalf("mpirun with --join: %s", r.describe())
		}
		if ns := a.checkRanks(t, r, 4, "j"); ns != 1 {
			t.Errorf("--join: ranks in %d user namespaces, want 1", ns)
		}
		if strings.Contains(r.Combined, cmaOff) {
			t.Errorf("--join: Open MPI says CMA is off: %s", r.describe())
		}

		// An aborted job: rank 0 fails and mpirun ends the others'
		// launchers (SIGTERM, then SIGKILL). No rank survives its launcher
		// (the container process dies with it), and whatever a SIGKILLed
		// launcher left in the state directory goes with the next launch.
		r = a.runCmd(nil, 2*time.Minute, []string{"mpirun", "--oversubscribe", "-np", "6", suite.runtime, "launch", img, "--",
			"sh", "-c", `[ "$OMPI_COMM_WORLD_RANK" = 0 ] && exit 1; echo waiting; exec sleep 300`})
		if r.Code == 0 {
			t.Errorf("aborted job: mpirun exited 0: %s", r.describe())
		}
		// mpirun may return while a launcher it SIGKILLed is still exiting:
		// wait for the launchers named by the state entries to be gone.
		for _, e := range a.stateEntries() {
			if pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(e), "launch-")); err == nil {
				waitExit(pid, 10*time.Second)
			}
		}
		if r = a.runCmd(nil, time.Minute, []string{suite.runtime, "launch", img, "--", "true"}); r.Code != 0 {
			t.Fatalf("launch after an aborted job: %s", r.describe())
		}
		if left := a.stateEntries(); len(left) > 0 {
			t.Errorf("after an aborted job and one more launch, state is left: %v", left)
		}

		// The rank's exit status reaches mpirun.
		r = a.runCmd(nil, 2*time.Minute, []string{"mpirun", "--oversubscribe", "-np", "2", suite.runtime, "launch", img, "--", "/pingpong", "3"})
		if r.Code != 3 {
			t.Errorf("ranks exiting 3: mpirun exited %d, want 3: %s", r.Code, r.describe())
		}
	})
}

// TestJoinOutlivesFirstRank: a group's first rank exits before the others
// start; they still join its container (the same user namespace), and the
// last one to leave takes the container and the group's files with it.
func TestJoinOutlivesFirstRank(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a *account) {
		img := a.mpiImage(t)
		tag := "outlive-" + suite.token
		var seen []string
		for i := 0; i < 3; i++ {
			r := a.runCmd(nil, time.Minute, []string{suite.runtime, "launch", "--join-tag", tag, "--join-ct", "3", img, "--",
				"readlink", "/proc/self/ns/user"})
			if r.Code != 0 {
				t.Fatalf("rank %d: %s", i, r.describe())
			}
			seen = append(seen, strings.TrimSpace(r.Stdout))
			if i < 2 && !hasJoinFiles(a) {
				t.Fatalf("after rank %d of 3 the group is gone: %v", i, a.stateEntries())
			}
		}
		if seen[0] == "" || seen[0] != seen[1] || seen[1] != seen[2] {
			t.Errorf("ranks of one --join group ran in user namespaces %q, want one", seen)
		}
		// forEachAccount's check: no container, no group file left.
	})
}

func hasJoinFiles(a *account) bool {
	for _, e := range a.stateEntries() {
		if strings.Contains(e, "/join-") {
			return true
		}
	}
	return false
}

// slurm is the one-node cluster of scripts/slurm-node.sh, started once.
var slurm struct {
	once sync.Once
	dir  string
	err  error
}

func slurmConf(t *testing.T) string {
	t.Helper()
	slurm.once.Do(func() {
		slurm.dir = filepath.Join(suite.tmp, "slurm")
		if err := os.MkdirAll(slurm.dir, 0o755); err != nil {
			slurm.err = err
			return
		}
		out, err := exec.Command("sh", filepath.Join(suite.repo, "scripts/slurm-node.sh"), "start", slurm.dir).CombinedOutput()
		if err != nil {
			slurm.err = fmt.Errorf("slurm-node.sh start: %v: %s", err, out)
		}
	})
	if slurm.err != nil {
		t.Fatal(slurm.err)
	}
	return filepath.Join(slurm.dir, "slurm.conf")
}

// stopSlurm is called by TestMain.
func stopSlurm() {
	if slurm.dir != "" {
		exec.Command("sh", filepath.Join(suite.repo, "scripts/slurm-node.sh"), "stop", slurm.dir).Run()
	}
}

func TestSrun(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a *account) {
		img := a.mpiImage(t)
		conf := "SLURM_CONF=" + slurmConf(t)
		r := a.runCmd([]string{conf, "URUN_TEST_VAR=slurm"}, 2*time.Minute,
			[]string{"srun", "-O", "-n", "4", "--mpi=pmix", suite.runtime, "launch", img, "--", "/pingpong"})
		if r.Code != 0 {
			t.Fatalf("srun: %s", r.describe())
		}
		a.checkRanks(t, r, 4, "slurm")
		r = a.runCmd([]string{conf, "URUN_TEST_VAR=sj"}, 2*time.Minute,
			[]string{"srun", "-O", "-n", "4", "--mpi=pmix", suite.runtime, "launch", "--join", img, "--", "/pingpong"})
		if r.Code != 0 {
			t.Fatalf("srun with --join: %s", r.describe())
		}
		if ns := a.checkRanks(t, r, 4, "sj"); ns != 1 {
			t.Errorf("srun --join: ranks in %d user namespaces, want 1", ns)
		}

		// A cancelled job: srun's SIGTERM (then SIGKILL) reaches every
		// rank, and nothing of urun's is left, --join's container and
		// group files included (forEachAccount checks).
		p, err := a.startCmd([]string{conf}, []string{"srun", "-O", "-n", "2", "--job-name=urun-cancel-" + a.name,
			suite.runtime, "launch", "--join", img, "--", "sh", "-c", "echo started; exec sleep 600"})
		if err != nil {
			t.Fatal(err)
		}
		if !waitFor(time.Minute, func() bool {
			out, _, _ := p.buf.snapshot()
			return strings.Count(out, "started") == 2
		}) {
			t.Fatalf("ranks did not start: %s", p.wait(time.Second).describe())
		}
		cancel := exec.Command("scancel", "--name=urun-cancel-"+a.name)
		cancel.Env = append(os.Environ(), conf)
		if out, err := cancel.CombinedOutput(); err != nil {
			t.Fatalf("scancel: %v: %s", err, out)
		}
		r = p.wait(time.Minute)
		if r.TimedOut || r.Code == 0 {
			t.Errorf("cancelled srun: want a non-zero exit, got: %s", r.describe())
		}
	})
}
