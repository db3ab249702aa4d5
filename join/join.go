// Package join lets the ranks of one job on one node share one container
// (urun launch --join): one user and mount namespace, so that MPI's
// cross-memory attach works between them and the set-up is paid once.
//
// A group lives in urun's state directory (one per account, mode 0700):
// join-HASH.lock serialises the ranks, join-HASH.json records the holder
// container and how many ranks joined, and join-HASH.members is held with
// a shared flock by every rank's urun for as long as its rank runs. The
// kernel drops a killed process's flock, so the janitor, which waits for
// an exclusive lock on the members file, learns when the last rank is
// gone however it ended, and removes the container and the files.
package join

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Key names the group: the job and step, and the launcher (the process
// that started this rank: mpirun, orted or slurmstepd), so that two jobs,
// two steps of one job, or two mpiruns never meet. A tag given by the
// user replaces all that. Two accounts never meet: each has its own state
// directory. get reads the rank's environment (os.Getenv).
func Key(tag string, get func(string) string, launcher int) (string, error) {
	var job string
	switch {
	case tag != "":
		return "tag:" + tag, nil
	case get("SLURM_JOB_ID") != "" && get("SLURM_STEP_ID") != "":
		job = "slurm:" + get("SLURM_JOB_ID") + "." + get("SLURM_STEP_ID")
	case get("PMIX_NAMESPACE") != "":
		job = "pmix:" + get("PMIX_NAMESPACE")
	case get("OMPI_MCA_ess_base_jobid") != "":
		job = "ompi:" + get("OMPI_MCA_ess_base_jobid")
	default:
		return "", errors.New("--join: no job found in the environment (SLURM_JOB_ID and SLURM_STEP_ID, PMIX_NAMESPACE or OMPI_MCA_ess_base_jobid): launch ranks with srun or mpirun, or give --join-tag")
	}
	return job + "@" + strconv.Itoa(launcher), nil
}

// LocalCount is how many ranks of the job run on this node: n when the
// user gave it, else what the launcher says (Open MPI's local size, or
// Slurm's tasks per node for this node), else 0 (unknown: the group ends
// as soon as no rank runs).
func LocalCount(n int, getenv func(string) string) (int, error) {
	if n > 0 {
		return n, nil
	}
	if n < 0 {
		return 0, fmt.Errorf("--join-ct: %d is negative", n)
	}
	if v := getenv("OMPI_COMM_WORLD_LOCAL_SIZE"); v != "" {
		return strconv.Atoi(v)
	}
	if v := getenv("SLURM_STEP_TASKS_PER_NODE"); v != "" {
		node, _ := strconv.Atoi(getenv("SLURM_NODEID"))
		return slurmTasks(v, node)
	}
	return 0, nil
}

// slurmTasks reads Slurm's compressed list ("2(x3),1": 2 tasks on each
// of three nodes, then 1) at the node's index.
func slurmTasks(list string, node int) (int, error) {
	asked := node
	for _, part := range strings.Split(list, ",") {
		count, reps := part, "1"
		if i := strings.Index(part, "(x"); i >= 0 && strings.HasSuffix(part, ")") {
			count, reps = part[:i], part[i+2:len(part)-1]
		}
		c, err1 := strconv.Atoi(count)
		r, err2 := strconv.Atoi(reps)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("SLURM_STEP_TASKS_PER_NODE %q: not a task list", list)
		}
		if node < r {
			return c, nil
		}
		node -= r
	}
	return 0, fmt.Errorf("SLURM_STEP_TASKS_PER_NODE %q has no entry for node %d", list, asked)
}

// Record is join-HASH.json.
type Record struct {
	Container string    `json:"container"` // the holder container's ID
	Pid       int       `json:"pid"`       // its process, whose namespaces ranks enter
	Start     uint64    `json:"start"`     // that process's start time, against PID reuse
	Expected  int       `json:"expected"`  // ranks on this node (0: unknown)
	Joined    int       `json:"joined"`
	LastJoin  time.Time `json:"lastJoin"`
}

// Group is an open group, its lock held.
type Group struct {
	base string // state dir/join-HASH
	lock *os.File
}

// ID is the holder container's ID for key.
func ID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "join-" + hex.EncodeToString(sum[:8])
}

// Lock opens the group of key in dir and takes its lock. A lock file the
// janitor removed while we waited for it is not the group's any more:
// take the new one.
func Lock(dir, key string) (*Group, error) {
	base := filepath.Join(dir, ID(key))
	for {
		f, err := os.OpenFile(base+".lock", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("join group: %w", err)
		}
		if err := flock(f, unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("join group %s.lock: %w", base, err)
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(base+".lock", &now) == nil && held.Ino == now.Ino {
			return &Group{base: base, lock: f}, nil
		}
		f.Close()
	}
}

// Unlock releases the group's lock.
func (g *Group) Unlock() { g.lock.Close() }

// Read returns the record, or nil when the group has no container yet.
func (g *Group) Read() (*Record, error) {
	data, err := os.ReadFile(g.base + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s.json: %w", g.base, err)
	}
	return &r, nil
}

// Save writes the record (atomically: a rename).
func (g *Group) Save(r *Record) error {
	data, _ := json.Marshal(r)
	tmp := g.base + ".json.tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, g.base+".json")
}

// Member marks this process a member of the group until it exits (or
// closes the file): a shared lock on the members file, taken under the
// group's lock. The janitor holds the members file exclusively only under
// the group's lock or not at all (see Wait), so this never waits long.
func (g *Group) Member() (*os.File, error) {
	f, err := os.OpenFile(g.base+".members", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Remove deletes the group's files (the janitor, under the lock, once the
// container is gone).
func (g *Group) Remove() error {
	var errs []error
	for _, s := range []string{".json", ".members", ".lock"} {
		if err := os.Remove(g.base + s); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Finished reports, with the group locked, whether it is done: no rank
// runs, and every expected rank has joined, or no rank has joined for
// linger (one that died before joining must not keep the container
// forever), or the holder is gone (alive reports on it).
func (g *Group) Finished(linger time.Duration, alive func(*Record) bool) (bool, error) {
	members, err := os.OpenFile(g.base+".members", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return false, err
	}
	defer members.Close()
	if flock(members, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false, nil // a rank still runs
	}
	r, err := g.Read()
	if err != nil || r == nil {
		return true, err
	}
	return !alive(r) || r.Expected == 0 || r.Joined >= r.Expected || time.Since(r.LastJoin) > linger, nil
}

// Wait is the janitor's: it returns, with the group locked, once the
// group is Finished.
func Wait(dir, key string, linger time.Duration, alive func(*Record) bool) (*Group, error) {
	base := filepath.Join(dir, ID(key))
	members, err := os.OpenFile(base+".members", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	defer members.Close()
	for {
		// Block until no member holds the file; let go at once, so that a
		// rank taking its shared lock under the group's lock never waits
		// for us while we wait for the group's lock.
		if err := flock(members, unix.LOCK_EX); err != nil {
			return nil, err
		}
		flock(members, unix.LOCK_UN)
		g, err := Lock(dir, key)
		if err != nil {
			return nil, err
		}
		done, err := g.Finished(linger, alive)
		if done || err != nil {
			return g, err
		}
		g.Unlock()
		// No rank runs but some have not come yet: rare (a first rank
		// that exits at once), so poll briefly for the next.
		time.Sleep(20 * time.Millisecond)
	}
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}
