package cache

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

func sampleKey() *Key {
	k := NewKey("lint")
	k.Add("kind", "sh")
	k.Add("def.sh", `["npm run lint"]`)
	k.Add("env.TZ", "UTC")
	k.Add("var.APP", "shop")
	k.Add("src src/a.js", "0123456789abcdef0123456789abcdef")
	k.Add("dep image", "feedface")
	k.Add("image.run", "sha256:abc")
	k.Add("secret TOKEN", "")
	return k
}

func TestKeyStable(t *testing.T) {
	a, b := sampleKey().Sum(), sampleKey().Sum()
	if a != b {
		t.Fatalf("same lines, different keys: %s %s", a, b)
	}
	if len(a) != 64 || !validKey(a) {
		t.Fatalf("key %q is not hex sha256", a)
	}
	// The encoding is part of the cache format: changing it must come with
	// a new FormatVersion, which changes this value too.
	const golden = "eec55a41d51c442dadc3e48d4f6ca7c0b0989512531448e6d766fa6db6ab6403"
	if a != golden {
		t.Errorf("key of the sample = %s; the key encoding changed (bump FormatVersion and update this test)", a)
	}
	if l := sampleKey().Lines(); l[0] != (Line{"version", FormatVersion}) || l[1] != (Line{"target", "lint"}) {
		t.Errorf("key does not start with the format version and target: %v", l[:2])
	}
}

func TestKeySensitive(t *testing.T) {
	base := sampleKey()
	sum := base.Sum()
	for i := range base.Lines() {
		// Changing any value, or any label, changes the key.
		k := sampleKey()
		k.lines[i].Value += "x"
		if k.Sum() == sum {
			t.Errorf("changing the value of %q left the key as it was", k.lines[i].Label)
		}
		k = sampleKey()
		k.lines[i].Label += "x"
		if k.Sum() == sum {
			t.Errorf("changing the label %q left the key as it was", k.lines[i].Label)
		}
	}
	if NewKey("a").Sum() == NewKey("b").Sum() {
		t.Error("targets a and b have the same key")
	}
	// Lines can't run into each other.
	k1, k2 := NewKey("t"), NewKey("t")
	k1.Add("ab", "c")
	k2.Add("a", "bc")
	if k1.Sum() == k2.Sum() {
		t.Error(`("ab","c") and ("a","bc") hash alike`)
	}
	k1, k2 = NewKey("t"), NewKey("t")
	k1.Add("a", "b")
	k1.Add("c", "")
	k2.Add("a", "b\x01c")
	if k1.Sum() == k2.Sum() {
		t.Error("two lines and one line with the same bytes hash alike")
	}
	// Order matters, extra lines matter.
	k1, k2 = NewKey("t"), NewKey("t")
	k1.Add("a", "1")
	k1.Add("b", "2")
	k2.Add("b", "2")
	k2.Add("a", "1")
	if k1.Sum() == k2.Sum() {
		t.Error("order of lines ignored")
	}
	big := NewKey("t")
	big.Add("def.run", strings.Repeat("x", 100000))
	big2 := NewKey("t")
	big2.Add("def.run", strings.Repeat("x", 99999)+"y")
	if big.Sum() == big2.Sum() {
		t.Error("the end of a long value is ignored")
	}
	if big.Lines()[2].Value != strings.Repeat("x", 100000) {
		t.Error("Lines does not keep a long value whole")
	}
}

func TestKeyDebug(t *testing.T) {
	var buf bytes.Buffer
	t.Setenv("DTASK_DEBUG_HASH", "")
	k := NewKey("lint")
	k.Debug = &buf
	k.Add("def.sh", "line1\nline2")
	k.Sum()
	if buf.Len() != 0 {
		t.Fatalf("debug output without DTASK_DEBUG_HASH: %q", buf.String())
	}
	t.Setenv("DTASK_DEBUG_HASH", "1")
	sum := k.Sum()
	want := "dtask-hash lint: version " + FormatVersion + "\n" +
		"dtask-hash lint: target lint\n" +
		"dtask-hash lint: def.sh \"line1\\nline2\"\n" +
		"dtask-hash lint: key " + sum + "\n"
	if buf.String() != want {
		t.Errorf("debug output:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// A run of files added at once hashes, lists and stores as the same lines
// added one by one would.
func TestAddFilesSameAsLines(t *testing.T) {
	sums := make([]byte, 32)
	sums[0], sums[31] = 1, 2
	rels := []string{"a.go", "sub/b.go"}
	one, run := NewKey("t"), NewKey("t")
	for _, k := range []*Key{one, run} {
		k.Add("kind", "sh")
	}
	one.Add("src x/a.go", hex.EncodeToString(sums[:16]))
	one.Add("src x/sub/b.go", hex.EncodeToString(sums[16:]))
	run.AddFiles("src x/", rels, sums)
	for _, k := range []*Key{one, run} {
		k.Add("env", "A=1")
	}
	if one.Sum() != run.Sum() {
		t.Error("AddFiles changed the key")
	}
	if !reflect.DeepEqual(one.Lines(), run.Lines()) || run.Len() != 2+4 {
		t.Errorf("lines %v, want %v", run.Lines(), one.Lines())
	}
}

// Lines built from file runs keep empty labels and values, at the end too.
func TestLinesEmptyValues(t *testing.T) {
	k := NewKey("t")
	k.AddFiles("src ", []string{"a"}, make([]byte, 16))
	k.Add("", "")
	k.Add("last", "")
	got := k.Lines()
	if n := len(got); n != 5 || got[2].Label != "src a" || got[3] != (Line{}) || got[4] != (Line{"last", ""}) {
		t.Errorf("Lines = %q", got)
	}
}

func TestSetChangesTheSumAndTheStoredLines(t *testing.T) {
	k := NewKey("t")
	k.Add("image.run", "missing:x")
	before := k.Sum()
	_ = k.Stored()
	if k.Set("image.run", "missing:x") {
		t.Error("Set to the same value reported a change")
	}
	if !k.Set("image.run", "sha256:1") {
		t.Fatal("Set did not find the line")
	}
	if k.Sum() == before {
		t.Error("the sum did not change")
	}
	if v, _ := k.Value("image.run"); v != "sha256:1" {
		t.Errorf("value %q", v)
	}
	if got := k.Stored()[2].Value; got != "sha256:1" {
		t.Errorf("stored line %q: kept from before Set", got)
	}
	want := NewKey("t")
	want.Add("image.run", "sha256:1")
	if k.Sum() != want.Sum() {
		t.Error("the sum differs from a key built with the value")
	}
}
