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

var rankLine = regexp.MustCompile(`(?m)^rank (\d+) of (\d+) uid (\d+) cwd (\S+) var (\S+)$`)

// checkRanks asserts that n ranks reported, each as the account, in its
// working directory, with the variable passed through.
func (a *account) checkRanks(t *testing.T, r *result, n int, wantVar string) {
	t.Helper()
	ms := rankLine.FindAllStringSubmatch(r.Stdout, -1)
	if len(ms) != n {
		t.Fatalf("want %d rank lines, got %d: %s", n, len(ms), r.describe())
	}
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m[1]] = true
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
}

func TestMPIRun(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a *account) {
		img := a.mpiImage(t)
		mpirun := []string{"mpirun", "--oversubscribe", "-np", "4", suite.runtime, "launch", img, "--", "/pingpong"}
		r := a.runCmd([]string{"URUN_TEST_VAR=from-host"}, 2*time.Minute, mpirun)
		if r.Code != 0 {
			t.Fatalf("mpirun: %s", r.describe())
		}
		a.checkRanks(t, r, 4, "from-host")

		// Shared memory only: the ranks must reach each other's segments
		// in the host's /dev/shm (a private one makes this fail).
		r = a.runCmd([]string{"URUN_TEST_VAR=x", "OMPI_MCA_btl=self,vader"}, 2*time.Minute, mpirun)
		if r.Code != 0 {
			t.Fatalf("mpirun with btl self,vader only: %s", r.describe())
		}
		a.checkRanks(t, r, 4, "x")

		// The rank's exit status reaches mpirun.
		r = a.runCmd(nil, 2*time.Minute, []string{"mpirun", "--oversubscribe", "-np", "2", suite.runtime, "launch", img, "--", "/pingpong", "3"})
		if r.Code != 3 {
			t.Errorf("ranks exiting 3: mpirun exited %d, want 3: %s", r.Code, r.describe())
		}
	})
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
			[]string{"srun", "-n", "4", "--mpi=pmix", suite.runtime, "launch", img, "--", "/pingpong"})
		if r.Code != 0 {
			t.Fatalf("srun: %s", r.describe())
		}
		a.checkRanks(t, r, 4, "slurm")

		// A cancelled job: srun's SIGTERM (then SIGKILL) reaches every
		// rank, and nothing of urun's is left (forEachAccount checks).
		p, err := a.startCmd([]string{conf}, []string{"srun", "-n", "2", "--job-name=urun-cancel-" + a.name,
			suite.runtime, "launch", img, "--", "sh", "-c", "echo started; exec sleep 600"})
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
