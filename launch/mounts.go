package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bind is one --bind SRC[:DST][:ro].
type bind struct {
	src, dst string
	ro       bool
}

func parseBinds(args []string) ([]bind, error) {
	var out []bind
	for _, a := range args {
		parts := strings.Split(a, ":")
		b := bind{src: parts[0]}
		switch {
		case len(parts) == 1:
		case len(parts) == 2 && parts[1] == "ro":
			b.ro = true
		case len(parts) == 2:
			b.dst = parts[1]
		case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
			b.dst, b.ro = parts[1], parts[2] == "ro"
		default:
			return nil, fmt.Errorf("--bind %q: want SRC[:DST][:ro]", a)
		}
		if b.dst == "" {
			b.dst = b.src
		}
		if !filepath.IsAbs(b.dst) {
			return nil, fmt.Errorf("--bind %q: destination %q is not absolute", a, b.dst)
		}
		src, err := filepath.Abs(b.src)
		if err != nil {
			return nil, fmt.Errorf("--bind %q: %w", a, err)
		}
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("--bind %q: source %s: %w", a, src, pathErr(err))
		}
		b.src, b.dst = src, filepath.Clean(b.dst)
		out = append(out, b)
	}
	return out, nil
}

// defaults are the mounts an HPC job expects, in mount order (a parent
// before what is mounted under it). Each has its reason:
//   - /proc: the host's (urun makes no PID namespace; binding it is what a
//     proc mount means here anyway);
//   - /sys and /dev from the host: GPUs, InfiniBand (/dev/infiniband,
//     /sys/class/infiniband) and the host's /dev/shm, where Open MPI's
//     shared-memory transport puts the segments its peers open: a private
//     /dev/shm makes it fall back to TCP;
//   - the host's /tmp: PMIx and Open MPI put their rendezvous sockets and
//     session directories there, and the launcher outside must reach them;
//   - /etc/hosts and /etc/resolv.conf: an image without them makes every
//     MPI_Init wait seconds on DNS for the local host name;
//   - /run/munge and the PMIx server's directories (Slurm's spool) when
//     present: srun --mpi=pmix's ranks talk to slurmd through them;
//   - $HOME (unless --no-home) and the working directory at their host
//     paths, so input and output files are where the job script expects.
func defaults(o Options, binds []bind) []specs.Mount {
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		rbind("/sys", "/sys", false),
		rbind("/dev", "/dev", false),
		rbind("/tmp", "/tmp", false),
	}
	for _, f := range []string{"/etc/hosts", "/etc/resolv.conf"} {
		if isFile(f) {
			ms = append(ms, rbind(f, f, true))
		}
	}
	var dirs []string
	if isDir("/run/munge") {
		dirs = append(dirs, "/run/munge")
	}
	for _, k := range []string{"PMIX_SERVER_TMPDIR", "PMIX_SYSTEM_TMPDIR", "SLURM_PMIX_TMPDIR"} {
		if v := getenv(o.Environ, k); filepath.IsAbs(v) && isDir(v) {
			dirs = append(dirs, filepath.Clean(v))
		}
	}
	if !o.NoHome {
		if h := getenv(o.Environ, "HOME"); filepath.IsAbs(h) && h != "/" && isDir(h) {
			dirs = append(dirs, filepath.Clean(h))
		}
	}
	if o.Cwd != "/" && isDir(o.Cwd) {
		dirs = append(dirs, o.Cwd)
	}
	for _, d := range dirs {
		if !covered(ms, d) {
			ms = append(ms, rbind(d, d, false))
		}
	}
	for _, b := range binds {
		ms = append(ms, rbind(b.src, b.dst, b.ro))
	}
	return ms
}

// covered: dir is already visible through a recursive bind of the same
// path or a parent of it (cwd under $HOME, a Slurm spool under /tmp).
func covered(ms []specs.Mount, dir string) bool {
	for _, m := range ms {
		if m.Source == m.Destination && isRbind(m) &&
			(dir == m.Destination || strings.HasPrefix(dir, m.Destination+"/")) {
			return true
		}
	}
	return false
}

func isRbind(m specs.Mount) bool {
	for _, o := range m.Options {
		if o == "rbind" {
			return true
		}
	}
	return false
}

func rbind(src, dst string, ro bool) specs.Mount {
	opts := []string{"rbind", "nosuid"}
	if ro {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}

// addDefaults keeps the template's mounts and adds each default whose
// destination it does not mount already.
func addDefaults(tmpl, defs []specs.Mount) []specs.Mount {
	have := map[string]bool{}
	for _, m := range tmpl {
		have[filepath.Clean(m.Destination)] = true
	}
	out := tmpl
	for _, m := range defs {
		if !have[m.Destination] {
			out = append(out, m)
		}
	}
	return out
}

func getenv(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func isDir(p string) bool  { st, err := os.Stat(p); return err == nil && st.IsDir() }
func isFile(p string) bool { st, err := os.Stat(p); return err == nil && st.Mode().IsRegular() }
