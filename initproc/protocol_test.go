package initproc

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// A message WriteMsg sends is read back whole, and two in a row stay
// apart (create sends the config, the placeholder reads it by length).
func TestMsgRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	want := []Reply{{Notes: []string{"a", "b"}, RuntimeHooks: true}, {Error: "mount /proc: EPERM"}}
	for _, r := range want {
		if err := WriteMsg(&buf, &r); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range want {
		var got Reply
		if err := ReadMsg(&buf, &got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("message %d: %+v, want %+v", i, got, w)
		}
	}
	if err := ReadMsg(&buf, new(Reply)); err == nil {
		t.Error("ReadMsg with nothing left succeeded")
	}
}

// A length no message has is refused before anything is allocated.
func TestMsgTooLarge(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<31)
	err := ReadMsg(bytes.NewReader(hdr[:]), new(Reply))
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("ReadMsg of a 2 GiB length: %v", err)
	}
}

// The protocol's bytes are distinct: each names one thing on its channel.
func TestProtocolBytesDistinct(t *testing.T) {
	seen := map[byte]string{}
	for name, b := range map[string]byte{"MapByte": MapByte, "CommitByte": CommitByte, "StartByte": StartByte,
		"ReadyByte": ReadyByte, "HeldMark": HeldMark, "HooksDoneByte": HooksDoneByte} {
		if other, ok := seen[b]; ok {
			t.Errorf("%s and %s are both %q", name, other, b)
		}
		seen[b] = name
	}
	// A release report is told apart by its first byte.
	if HookFailed[0] == HeldMark {
		t.Errorf("HookFailed %q starts with HeldMark", HookFailed)
	}
}
