package cache

import (
	"slices"
	"testing"
)

// DiffFrom words what Diff words, from two keys in memory.
func TestDiffFromAsDiff(t *testing.T) {
	files := []string{"a.txt", "b.txt", "c.txt"}
	key := func(env string, sums []byte, rels []string) *Key {
		k := NewKey("t")
		k.Add("kind", "sh")
		if env != "" {
			k.Add("env.X", env)
		}
		k.AddFiles("src ", rels, sums)
		k.Add("def.sh", `"make"`)
		return k
	}
	sums := func(b ...byte) []byte {
		var out []byte
		for _, x := range b {
			out = append(out, slices.Repeat([]byte{x}, 16)...)
		}
		return out
	}
	base := key("1", sums(1, 2, 3), files)
	for _, cur := range []*Key{
		key("1", sums(1, 2, 3), files),                               // nothing
		key("1", sums(1, 9, 3), files),                               // one file, same list
		key("1", sums(9, 2, 9), slices.Clone(files)),                 // two files, an equal list
		key("2", sums(1, 2, 3), files),                               // env changed
		key("", sums(1, 2, 3), files),                                // env removed
		key("1", sums(1, 2, 3, 4), append(slices.Clone(files), "d")), // a file added
		key("1", sums(1, 3), []string{"a.txt", "c.txt"}),             // a file removed
	} {
		want := Diff(base.Lines(), cur.Lines())
		if got := cur.DiffFrom(base); !slices.Equal(got, want) {
			t.Errorf("DiffFrom = %q, Diff = %q", got, want)
		}
	}
	if got := key("1", sums(1, 9, 3), files).DiffFrom(base); !slices.Equal(got, []string{"b.txt changed"}) {
		t.Errorf("one edited file: %q", got)
	}
}

// EachSince gives the plain lines and only the files whose sum changed;
// with a different file list, every line.
func TestEachSince(t *testing.T) {
	rels := []string{"a", "b", "c"}
	key := func(sums []byte, rels []string) *Key {
		k := NewKey("t")
		k.AddFiles("src ", rels, sums)
		return k
	}
	old := key(make([]byte, 48), rels)
	edited := make([]byte, 48)
	edited[16] = 1
	var got []string
	each := func(label, value []byte) { got = append(got, string(label)) }
	key(edited, rels).EachSince(old, each)
	if want := []string{"version", "target", "src b"}; !slices.Equal(got, want) {
		t.Errorf("one edit: %q, want %q", got, want)
	}
	got = nil
	key(make([]byte, 32), []string{"a", "c"}).EachSince(old, each)
	if want := []string{"version", "target", "src a", "src c"}; !slices.Equal(got, want) {
		t.Errorf("a file removed: %q, want %q", got, want)
	}
}
