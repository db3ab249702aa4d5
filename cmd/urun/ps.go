package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"urun/members"
)

// psCmd is runc's ps: containerd's `ctr task ps` and Docker's `docker top`
// call `ps --format json ID` and read a JSON array of PIDs. The words
// after the ID go to ps(1) unparsed, as with runc (`urun ps ID -o pid,args`).
type psCmd struct {
	Format string   `short:"f" enum:"table,json" default:"table" help:"table (ps(1) output, only the container's processes) or json (an array of PIDs)."`
	ID     string   `arg:"" passthrough:"" help:"Container ID."`
	PsArgs []string `arg:"" optional:"" help:"Options for ps(1) in table format (default -ef)."`
}

func (c *psCmd) Run(g *Globals) error {
	return wrap("ps", c.ID, ps(g, c.ID, c.Format, c.PsArgs, os.Stdout))
}

func ps(g *Globals, id, format string, psArgs []string, out io.Writer) error {
	ct, err := openContainer(g, id, false)
	if err != nil {
		return err
	}
	pids := members.Pids(ct.State.Members()) // the processes kill --all would signal
	ct.Close()
	if format == "json" {
		b, _ := json.Marshal(pids) // [] rather than null when none is left
		_, err := out.Write(append(b, '\n'))
		return err
	}
	if len(psArgs) > 0 && psArgs[0] == "--" {
		psArgs = psArgs[1:]
	}
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	cmd := exec.Command("ps", psArgs...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	table, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w: %s", strings.Join(psArgs, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	filtered, err := filterPs(table, pids)
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	_, err = out.Write(filtered)
	return err
}

// filterPs keeps ps(1)'s header and the lines whose PID column names one
// of pids, as runc does.
func filterPs(table []byte, pids []int) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(string(table), "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return nil, errors.New("its output has no PID column (add -o pid,...)")
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			return nil, fmt.Errorf("PID column of %q: %w", line, err)
		}
		if slices.Contains(pids, pid) {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes(), nil
}
