package userns

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Joined is the mapping of the user namespace that process pid joined (a
// linux.namespaces path), as seen from urun's: nothing to write, only to
// check process.user against and to tell the placeholder.
func Joined(pid int) (*Mapping, error) {
	return procMaps("/proc/"+strconv.Itoa(pid)+"/", Join)
}

// Matches checks a config's linux.uidMappings and gidMappings against the
// joined namespace's (podman passes a pod's with its path, as runc 1.2
// checks them): none given, or the same entries.
func (m *Mapping) Matches(uids, gids []specs.LinuxIDMapping) error {
	for _, c := range []struct {
		field      string
		want, have []specs.LinuxIDMapping
	}{{"linux.uidMappings", uids, m.UID}, {"linux.gidMappings", gids, m.GID}} {
		if len(c.want) > 0 && !slices.Equal(c.want, c.have) {
			return fmt.Errorf("%s %s differ from the joined user namespace's %s (container:host:size)", c.field, triples(c.want), triples(c.have))
		}
	}
	return nil
}

func triples(maps []specs.LinuxIDMapping) string {
	parts := make([]string, len(maps))
	for i, r := range maps {
		parts[i] = fmt.Sprintf("%d:%d:%d", r.ContainerID, r.HostID, r.Size)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
