package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// launchID is the ID `urun launch` gives its container (launch-PID).
var launchID = regexp.MustCompile(`^urun launch launch-\d+: `)

// TestLaunchRefusals: bad input to `urun launch` exits 1 with a message
// naming the flag or argument and its value, and leaves no state.
func TestLaunchRefusals(t *testing.T) {
	ForEach(t, func(t *testing.T, a *Account) {
		e := NewEnv(t, a)
		img := filepath.Join(e.Bundle, "rootfs")
		file := filepath.Join(e.Bundle, "config.json")
		for _, tc := range []struct {
			args []string
			want string // stderr, without the "urun launch launch-PID: " prefix
		}{
			{[]string{"/nonexistent-img", "--", "true"}, "IMAGE /nonexistent-img: no such file or directory"},
			{[]string{file, "--", "true"}, "IMAGE " + file + ": not a directory (want a rootfs or a bundle directory)"},
			{[]string{"--env", "BAD", img, "--", "true"}, `--env "BAD": want NAME=VALUE`},
			{[]string{"--unset-env", "A=B", img, "--", "true"}, `--unset-env "A=B": want a variable name`},
			{[]string{"--bind", "/nonexistent", img, "--", "true"}, `--bind "/nonexistent": source /nonexistent: no such file or directory`},
			{[]string{"--bind", "/tmp:rel", img, "--", "true"}, `--bind "/tmp:rel": destination "rel" is not absolute`},
			{[]string{"--bind", "a:b:c:d", img, "--", "true"}, `--bind "a:b:c:d": want SRC[:DST][:ro]`},
			{[]string{"--join", img, "--", "true"}, "urun launch: --join: no job found in the environment (SLURM_JOB_ID and SLURM_STEP_ID, PMIX_NAMESPACE or OMPI_MCA_ess_base_jobid): launch ranks with srun or mpirun, or give --join-tag"},
			{[]string{"--join-tag", "x", "--join-ct=-1", img, "--", "true"}, "urun launch: --join-ct: -1 is negative"},
		} {
			r := e.Urun(append([]string{"launch"}, tc.args...)...)
			got := launchID.ReplaceAllString(strings.TrimSpace(r.Stderr), "")
			if r.Code != 1 || got != tc.want {
				t.Errorf("launch %q: want exit 1 and %q, got %s", tc.args, tc.want, r)
			}
		}
		if ents, _ := os.ReadDir(e.Root); len(ents) > 0 {
			t.Errorf("refused launches left state: %v", ents)
		}
		e.AssertClean()
	})
}
