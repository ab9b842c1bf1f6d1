package taskfile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestLocate(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]string // key path -> "line:col"
	}{
		{
			name: "headers and inline tables",
			src: "version = 1\n" +
				"[targets.test]\n" +
				"run = { image = \"x\", cmd = [\"a\", \"b\"] }\n",
			want: map[string]string{
				"version": "1:1", "targets": "2:2", "targets.test": "2:10",
				"targets.test.run": "3:1", "targets.test.run.image": "3:9",
				"targets.test.run.cmd": "3:22", "targets.test.run.cmd[0]": "3:29", "targets.test.run.cmd[1]": "3:34",
			},
		},
		{
			name: "dotted and quoted keys",
			src:  "targets . \"my.target\" . sh = \"x\"\n[ services . 'db one' ]\nimage='i'\n\"a\\u0041\" = 1\n",
			want: map[string]string{
				"targets": "1:1", `targets."my.target"`: "1:11", `targets."my.target".sh`: "1:25",
				`services."db one"`: "2:14", `services."db one".image`: "3:1", `services."db one".aA`: "4:1",
			},
		},
		{
			name: "inline table across lines with comments",
			src: "[targets.img]\n" +
				"build = { context = \".\", # the folder\n" +
				"          tags = [\"a\",\n" +
				"                  \"b\"], # tags\n" +
				"          args = { X = \"1\" } }\n" +
				"desc = \"d\"\n",
			want: map[string]string{
				"targets.img.build": "2:1", "targets.img.build.context": "2:11",
				"targets.img.build.tags": "3:11", "targets.img.build.tags[1]": "4:19",
				"targets.img.build.args": "5:11", "targets.img.build.args.X": "5:20",
				"targets.img.desc": "6:1",
			},
		},
		{
			name: "strings that look like TOML are skipped",
			src: "a = \"\"\"\n[fake]\nb = 1 # \\\"\"\" \"\"\"\n" +
				"c = '''\n[[fake2]]\nd = '\n'''\n" +
				"e = \"x = 1 # [y]\" # f = 2\n" +
				"g = 'h\\' # i = 3\n" +
				"j = \"\"\"k\"\"\"\"\"\n" +
				"l = 1\n",
			want: map[string]string{"a": "1:1", "c": "4:1", "e": "8:1", "g": "9:1", "j": "10:1", "l": "11:1"},
		},
		{
			name: "arrays of tables, nested arrays, comments",
			src: "# [commented.out]\n" +
				"[[a.b]]\nx = 1\n[[a.b]]\ny = 2\n" +
				"[c]\nm = [[1, 2], [3]] # m = 2\n" +
				"n = [ # open\n  { p = 1 },\n  { q = 2 },\n]\n",
			want: map[string]string{
				"a": "2:3", "a.b": "2:5", "a.b.x": "3:1", "a.b.y": "5:1",
				"c.m": "7:1", "c.m[0]": "7:6", "c.m[0][1]": "7:10", "c.m[1]": "7:14", "c.m[1][0]": "7:15",
				"c.n": "8:1", "c.n[0]": "9:3", "c.n.p": "9:5", "c.n[1]": "10:3", "c.n.q": "10:5",
			},
		},
		{
			name: "CRLF, tabs, byte columns, BOM",
			src:  "\uFEFFv = 1\r\n[t]\r\n\ta = { s = \"é\", u = 2 }\r\n",
			want: map[string]string{"v": "1:1", "t": "2:2", "t.a": "3:2", "t.a.s": "3:8", "t.a.u": "3:18"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if _, err := toml.Decode(tt.src, &m); err != nil {
				t.Fatalf("test input is not TOML: %v", err)
			}
			pos, _, _ := locate(tt.src)
			for k, want := range tt.want {
				p, ok := pos[k]
				if !ok {
					t.Errorf("%s not located; have %v", k, pos)
					continue
				}
				if got := fmt.Sprintf("%d:%d", p.Line, p.Col); got != want {
					t.Errorf("%s at %s, want %s", k, got, want)
				}
			}
			checkAllKeysLocated(t, tt.src)
		})
	}
}

// checkAllKeysLocated: every key toml reads must be located, at text that
// starts that key's last piece.
func checkAllKeysLocated(t *testing.T, src string) {
	t.Helper()
	var m map[string]any
	md, err := toml.Decode(src, &m)
	if err != nil {
		return
	}
	pos, _, _ := locate(src)
	lines := strings.Split(strings.TrimPrefix(src, "\uFEFF"), "\n") // columns count from after a BOM
	for _, k := range md.Keys() {
		p, ok := pos[k.String()]
		if !ok {
			t.Errorf("key %s not located in %q", k, src)
			continue
		}
		if p.Line < 1 || p.Line > len(lines) || p.Col < 1 || p.Col > len(lines[p.Line-1]) {
			t.Errorf("key %s at %d:%d, outside the text %q", k, p.Line, p.Col, src)
			continue
		}
		at := lines[p.Line-1][p.Col-1:]
		last := k[len(k)-1]
		if !strings.HasPrefix(at, last) && !strings.HasPrefix(at, `"`) && !strings.HasPrefix(at, `'`) {
			t.Errorf("key %s at %d:%d, where the text is %q", k, p.Line, p.Col, at)
		}
	}
}

func TestLocateVarOrder(t *testing.T) {
	src := "[vars]\nZ = \"1\"\nA = \"2\"\n[env]\nQ = \"\"\n[targets.x]\nsh = \"\"\n"
	_, order, _ := locate(src)
	if got := strings.Join(order, ","); got != "Z,A" {
		t.Errorf("vars order %s, want Z,A", got)
	}
	f, err := Parse("t.toml", []byte("version = 1\nvars.M = \"m\"\n"+src))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.VarOrder, ","); got != "M,Z,A" {
		t.Errorf("VarOrder %s, want M,Z,A", got)
	}
}

// The locator never fails, hangs or panics, whatever it is given.
func FuzzLocate(f *testing.F) {
	for _, s := range []string{"a = 1", "[a.b]\nc = { d = [1, {e = 2}] }", "x = \"\"\"\n\"\"\"", "[[", "{{{", "a.\"b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		locate(src)
		checkAllKeysLocated(t, src)
	})
}
