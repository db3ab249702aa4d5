package join

import "testing"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestKey(t *testing.T) {
	slurm := env(map[string]string{"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "0", "PMIX_NAMESPACE": "p"})
	for _, tc := range []struct {
		tag  string
		get  func(string) string
		want string
	}{
		{"", slurm, "slurm:7.0@42"},
		{"", env(map[string]string{"PMIX_NAMESPACE": "3221"}), "pmix:3221@42"},
		{"", env(map[string]string{"OMPI_MCA_ess_base_jobid": "9"}), "ompi:9@42"},
		{"t1", slurm, "tag:t1"},
	} {
		if got, err := Key(tc.tag, tc.get, 42); err != nil || got != tc.want {
			t.Errorf("Key(%q): %q, %v; want %q", tc.tag, got, err, tc.want)
		}
	}
	if _, err := Key("", env(nil), 42); err == nil {
		t.Error("Key outside a job: want an error")
	}
	if ID("a") == ID("b") || ID("a") != ID("a") {
		t.Error("ID is not a function of the key")
	}
}

func TestLocalCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		env  map[string]string
		want int
	}{
		{3, map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "8"}, 3},
		{0, map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "8"}, 8},
		{0, map[string]string{"SLURM_STEP_TASKS_PER_NODE": "2(x3),1", "SLURM_NODEID": "2"}, 2},
		{0, map[string]string{"SLURM_STEP_TASKS_PER_NODE": "2(x3),1", "SLURM_NODEID": "3"}, 1},
		{0, nil, 0},
	} {
		if got, err := LocalCount(tc.n, env(tc.env)); err != nil || got != tc.want {
			t.Errorf("LocalCount(%d, %v) = %d, %v; want %d", tc.n, tc.env, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SLURM_STEP_TASKS_PER_NODE": "2(x3)", "SLURM_NODEID": "5"}, `SLURM_STEP_TASKS_PER_NODE "2(x3)" has no entry for node 5`},
		{map[string]string{"SLURM_STEP_TASKS_PER_NODE": "two"}, `SLURM_STEP_TASKS_PER_NODE "two": not a task list`},
	} {
		if _, err := LocalCount(0, env(tc.env)); err == nil || err.Error() != tc.want {
			t.Errorf("LocalCount(%v): %v, want %q", tc.env, err, tc.want)
		}
	}
}
