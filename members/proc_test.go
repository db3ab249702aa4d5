package members

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Both ways of listing children find a child, and Descendants opens it
// (and what is below it) unless told to keep it.
func TestChildrenAndDescendants(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	self := os.Getpid()
	if !slices.Contains(Children(self), cmd.Process.Pid) || !slices.Contains(childrenByScan(self), cmd.Process.Pid) {
		t.Fatalf("children of %d: %v / %v; want %d", self, Children(self), childrenByScan(self), cmd.Process.Pid)
	}
	// The shell's sleep shows up below it once started.
	var ps []Proc
	for i := 0; i < 5000 && len(ps) < 2; i++ {
		closeProcs(ps)
		ps, _ = Descendants(self, nil)
	}
	defer closeProcs(ps)
	if len(ps) < 2 || ps[0].Pid != cmd.Process.Pid {
		t.Fatalf("descendants: %+v", ps)
	}
	spared, _ := Descendants(self, func(pid int) bool { return pid == cmd.Process.Pid })
	defer closeProcs(spared)
	if len(spared) != 0 {
		t.Errorf("descendants with the child spared: %+v", spared)
	}
}

// pinNS trusts the namespace only when it is still the recorded one.
func TestPinNS(t *testing.T) {
	start, _, err := ProcStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &st); err != nil {
		t.Fatal(err)
	}
	s := &Container{Main: ProcRef{Pid: os.Getpid(), Start: start}}
	s.MntNS = fmt.Sprintf("mnt:[%d]", st.Ino)
	if f := s.pinNS(); f == nil {
		t.Error("pinNS refused the process's own namespace")
	} else {
		f.Close()
	}
	s.MntNS = fmt.Sprintf("mnt:[%d]", st.Ino+1)
	if f := s.pinNS(); f != nil {
		f.Close()
		t.Error("pinNS accepted a namespace other than the recorded one")
	}
	s.MntNS, s.Main.Start = fmt.Sprintf("mnt:[%d]", st.Ino), start+1
	if f := s.pinNS(); f != nil {
		f.Close()
		t.Error("pinNS accepted a process with another start time")
	}
}

func TestProcStartAndAlive(t *testing.T) {
	pid := os.Getpid()
	st, state, err := ProcStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st == 0 || !strings.ContainsRune("RSD", rune(state)) {
		t.Errorf("ProcStart(self) = %d, %q", st, state)
	}
	if !Alive(pid, st) {
		t.Error("Alive(self) = false")
	}
	if Alive(pid, st+1) {
		t.Error("Alive with a different start time (reused PID) = true")
	}
	if _, _, err := ProcStart(-1); err == nil {
		t.Error("ProcStart(-1) succeeded")
	}
}
