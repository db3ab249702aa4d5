package e2e

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// fsEntry describes one path of an image: "d 755 0:0", "f 644 0:0 "content"",
// "l 777 0:0 -> target". Contents are captured for files under 8 KiB; larger
// files are described by their size.
type fsEntry string

// manifestScript lists a committed image's filesystem without running the
// image (no runtime involved): a working container from the image, mounted
// inside `buildah unshare`, walked with the host's find.
const manifestScript = `set -eu
ctr=$("$@" from --pull=never --quiet "$IMG")
mnt=$("$@" mount "$ctr")
cd "$mnt"
find . -xdev -printf 'E\t%p\t%y\t%m\t%U:%G\t%s\t%l\n'
find . -xdev -type f -size -8k -exec sh -c 'for f; do printf "C\t%s\t" "$f"; base64 -w0 < "$f"; echo; done' sh {} +
cd /
"$@" umount "$ctr" >/dev/null
"$@" rm "$ctr" >/dev/null
`

func (a *account) imageManifest(t *testing.T, image string) map[string]fsEntry {
	t.Helper()
	argv := a.buildahArgs("unshare", "--", "sh", "-c", manifestScript, "sh")
	argv = append(argv, a.buildahArgs()...)
	r := a.runCmd([]string{"IMG=" + image}, 2*time.Minute, argv)
	if r.Code != 0 {
		t.Fatalf("listing image %s: %s", image, r.describe())
	}
	type raw struct{ typ, mode, owner, size, link string }
	ents := map[string]raw{}
	contents := map[string]string{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		f := strings.Split(line, "\t")
		switch {
		case len(f) == 7 && f[0] == "E":
			ents[f[1]] = raw{f[2], f[3], f[4], f[5], f[6]}
		case len(f) == 3 && f[0] == "C":
			b, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil {
				t.Fatalf("listing image %s: bad content line %q", image, line)
			}
			contents[f[1]] = string(b)
		}
	}
	if len(ents) == 0 {
		t.Fatalf("listing image %s: empty listing: %s", image, r.describe())
	}
	out := map[string]fsEntry{}
	for p, e := range ents {
		s := fmt.Sprintf("%s %s %s", e.typ, e.mode, e.owner)
		switch e.typ {
		case "f":
			if c, ok := contents[p]; ok {
				s += fmt.Sprintf(" %q", c)
			} else {
				s += " size=" + e.size
			}
		case "l":
			s += " -> " + e.link
		}
		out[strings.TrimPrefix(p, ".")] = fsEntry(s)
	}
	return out
}

func (a *account) baseImageManifest(t *testing.T) map[string]fsEntry {
	t.Helper()
	a.baseOnce.Do(func() {
		a.baseManifest = a.imageManifest(t, baseImage)
	})
	if a.baseManifest == nil {
		t.Fatalf("base image listing failed earlier")
	}
	return a.baseManifest
}

// imageDiff returns what image changed relative to base: path -> entry, and
// "<removed>" for paths that disappeared.
func imageDiff(base, image map[string]fsEntry) map[string]fsEntry {
	d := map[string]fsEntry{}
	for p, e := range image {
		b, ok := base[p]
		// A directory's size and times change with its entries; that is not a change.
		if !ok || b != e {
			d[p] = e
		}
	}
	for p := range base {
		if _, ok := image[p]; !ok {
			d[p] = "<removed>"
		}
	}
	return d
}

// compareDiff reports every difference between the wanted and actual change set.
func compareDiff(want, got map[string]fsEntry) []string {
	var probs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			probs = append(probs, fmt.Sprintf("missing  %s: want %s", p, w))
		case g != w:
			probs = append(probs, fmt.Sprintf("wrong    %s: got %s, want %s", p, g, w))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			probs = append(probs, fmt.Sprintf("unexpected %s: %s", p, g))
		}
	}
	sort.Strings(probs)
	return probs
}
