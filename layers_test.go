package parley_test

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/parley-im/parley"

// A layerRule forbids the packages under From to depend, directly or
// through any other package, on the packages under To. Paths are relative
// to the module ("." is the root package); a path covers its sub-packages.
// Each rule says why it exists, so that whoever wants to break one knows
// what they would give up (tailscale's deptest does the same).
type layerRule struct {
	From   string
	To     []string
	Reason string
}

var layerRules = []layerRule{
	{".", []string{"identity", "storage", "node", "pubsub", "gui", "cmd", "internal"},
		"the root package is the domain language every layer shares; it knows no adapter"},
	{"identity", []string{"storage", "node", "pubsub", "gui", "cmd"},
		"keys, cards and sealing work without a store or a network (tests, tools, other nodes' cards)"},
	{"storage", []string{"identity", "node", "pubsub", "gui", "cmd"},
		"the store keeps sealed bytes and records; it never decrypts, sends or renders"},
	{"pubsub", []string{"node", "gui", "cmd"},
		"group chats are a protocol package that node composes; they never reach back into it"},
	{"node", []string{"gui", "cmd"},
		"a node runs headless; the local API is one of its clients, wired up in cmd"},
	{"gui", []string{"node", "pubsub", "storage"},
		"the API reaches the node only through its role interfaces, so the GUI, the CLI and bots share one surface and test fakes stay small"},
	{"gui/apitype", []string{"gui/localapi", "gui/client", "gui/web", "identity"},
		"wire types are what clients import: they must stay cheap to import and free of server code"},
	{"gui/client", []string{"gui/localapi", "gui/web"},
		"a bot or the CLI that talks to a node must not link the server"},
	// The protocol packages each own one protocol; node is the one place
	// that composes them, so a change to one never ripples into another.
	{"node/dm", []string{"node/catchup", "node/files", "node/mailbox", "pubsub"},
		"protocol packages never import each other: node composes them"},
	{"node/catchup", []string{"node/dm", "node/files", "node/mailbox", "pubsub"},
		"protocol packages never import each other: node composes them"},
	{"node/files", []string{"node/dm", "node/catchup", "node/mailbox", "pubsub"},
		"protocol packages never import each other: node composes them"},
	{"pubsub", []string{"node/dm", "node/catchup", "node/files", "node/mailbox"},
		"protocol packages never import each other: node composes them"},
	{"node/mailbox", []string{"node/dm", "node/catchup", "node/files", "pubsub"},
		"protocol packages never import each other: node composes them"},
	{"node/invite", []string{"node/dm", "node/catchup", "node/files", "node/mailbox", "pubsub", "storage"},
		"protocol packages never import each other: node composes them"},
}

// rootImports are the only non-standard imports the root package may use.
var rootImports = []string{"google.golang.org/protobuf", module + "/pb"}

// testingAllowed are the project packages that may import "testing" in
// their non-test code: the shared integration harness, and the networks
// of network namespaces that it and the chaos tests build, which exist to
// be imported by tests. Anywhere else it would put test flags into the
// binary.
var testingAllowed = []string{harness, "internal/netns"}

// harness is the shared integration harness; only tests may import it.
const harness = "internal/parleytest"

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func TestLayers(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	for _, p := range pkgs {
		rel := relPath(p.ImportPath)
		for _, r := range layerRules {
			if !under(rel, r.From) {
				continue
			}
			for _, dep := range p.Deps {
				depRel, ok := projectPath(dep)
				if !ok {
					continue
				}
				for _, bad := range r.To {
					if under(depRel, bad) {
						t.Errorf("%s depends on %s (%s must not depend on %s: %s)", rel, depRel, r.From, bad, r.Reason)
					}
				}
			}
		}
		if rel == "." {
			for _, imp := range p.Imports {
				if isStandard(imp) || slices.ContainsFunc(rootImports, func(ok string) bool { return under(imp, ok) }) {
					continue
				}
				t.Errorf("the root package imports %s: it may use only the standard library and protobuf", imp)
			}
		}
		if rel != harness && slices.Contains(p.Deps, module+"/"+harness) {
			t.Errorf("%s depends on %s outside its tests: the harness is for tests only", rel, harness)
		}
		if slices.Contains(p.Imports, "testing") && !slices.Contains(testingAllowed, rel) {
			t.Errorf("%s imports \"testing\" outside a _test.go file: only the test harness (%s) may", rel, strings.Join(testingAllowed, ", "))
		}
	}
}

// listPackages runs `go list -deps` over the module. Deps are transitive,
// so a rule cannot be dodged through an intermediate package.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps", "./...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func relPath(importPath string) string {
	if rel, ok := projectPath(importPath); ok {
		return rel
	}
	return importPath
}

// projectPath returns the module-relative path of a project package.
func projectPath(importPath string) (string, bool) {
	if importPath == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(importPath, module+"/")
	return rel, ok
}

// under reports whether path is dir or inside it; "." holds only itself.
func under(path, dir string) bool {
	return path == dir || dir != "." && strings.HasPrefix(path, dir+"/")
}

// isStandard reports whether an import path is the standard library's: its
// first element has no dot.
func isStandard(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

// TestDomainTypesCarryNoTags keeps formats in their layers: a struct tag
// on a domain type would make one field name at once the disk format, the
// API's JSON and the Go name, so that renaming it breaks old data dirs.
// storage has its record codecs, gui/apitype its views.
func TestDomainTypesCarryNoTags(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if field, ok := n.(*ast.Field); ok && field.Tag != nil {
				t.Errorf("%s: a domain type's field has the tag %s; give the format its own type in its layer", fset.Position(field.Pos()), field.Tag.Value)
			}
			return true
		})
	}
}
