package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// maxFuncLines is the longest function the module allows, from its func
// line to its closing brace.
const maxFuncLines = 60

// moduleFiles parses every non-test Go file of the module.
func moduleFiles(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	fset, files := token.NewFileSet(), map[string]*ast.File{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = f
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fset, files
}

// TestNoLongFunctions: no function or method of non-test code is longer
// than maxFuncLines; split it by what its parts answer.
func TestNoLongFunctions(t *testing.T) {
	fset, files := moduleFiles(t)
	for name, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
			if n := end.Line - start.Line + 1; n > maxFuncLines {
				t.Errorf("%s:%d: %s is %d lines long (at most %d)", name, start.Line, fn.Name.Name, n, maxFuncLines)
			}
		}
	}
}

// TestNoPackageLevelMutableState: a package-level var is a constant the
// language cannot express (a sentinel error, a compiled pattern, a table
// as a slice literal, a lazily computed process constant) or a sync.Pool;
// anything else (a map, a sync or atomic type, a writer tests swap, a
// value computed at start-up) is state that belongs to a value passed in.
func TestNoPackageLevelMutableState(t *testing.T) {
	fset, files := moduleFiles(t)
	for name, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				checkVar(t, fset, name, s.(*ast.ValueSpec))
			}
		}
	}
}

func checkVar(t *testing.T, fset *token.FileSet, file string, vs *ast.ValueSpec) {
	t.Helper()
	for i, id := range vs.Names {
		if id.Name == "_" {
			continue // a compile-time assertion
		}
		var value ast.Expr
		if i < len(vs.Values) {
			value = vs.Values[i]
		} else if len(vs.Values) == 1 {
			value = vs.Values[0] // v, err = f()
		}
		if vs.Type != nil || !immutable(value) {
			t.Errorf("%s:%d: package-level var %s holds mutable state: pass it in, or make it a const or a function",
				file, fset.Position(id.Pos()).Line, id.Name)
		}
	}
}

// allowedCalls are the initializers whose result is never written: they
// compute a constant the language cannot express.
var allowedCalls = []string{
	"errors.New", "fmt.Errorf", "regexp.MustCompile", "reflect.TypeFor",
	"sync.OnceValue", "sync.OnceValues", "sync.OnceFunc",
}

// immutable says whether a package-level initializer is one of the
// allowed forms.
func immutable(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.CallExpr:
		fun := e.Fun
		if ix, ok := fun.(*ast.IndexExpr); ok { // reflect.TypeFor[T]()
			fun = ix.X
		}
		for _, name := range allowedCalls {
			if exprName(fun) == name {
				return true
			}
		}
	case *ast.CompositeLit:
		if _, ok := e.Type.(*ast.ArrayType); ok {
			return true // a table as a slice literal
		}
		return exprName(e.Type) == "sync.Pool"
	}
	return false
}

func exprName(e ast.Expr) string {
	if s, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := s.X.(*ast.Ident); ok {
			return x.Name + "." + s.Sel.Name
		}
	}
	return ""
}

// TestMutableStateIsFound: the check refuses what it is meant to refuse.
func TestMutableStateIsFound(t *testing.T) {
	src := `package p
var m = map[string]bool{}
var w io.Writer = os.Stderr
var s sync.Map
var n = time.Now()
var ok1 = errors.New("x")
var ok2 = []string{"a"}
var ok3 = sync.Pool{}
var ok4 = regexp.MustCompile("a")
`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		vs := d.(*ast.GenDecl).Specs[0].(*ast.ValueSpec)
		var value ast.Expr
		if len(vs.Values) > 0 {
			value = vs.Values[0]
		}
		allowed := vs.Type == nil && immutable(value)
		if want := strings.HasPrefix(vs.Names[0].Name, "ok"); allowed != want {
			t.Errorf("var %s: allowed = %v, want %v", vs.Names[0].Name, allowed, want)
		}
	}
}
