package deploy

import (
	"bytes"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

const repoRoot = ".."

// image is what the tests need to know of the Dockerfile.
type image struct {
	metaArgs []instructions.ArgCommand
	stages   []instructions.Stage
}

// parseDockerfile parses the Dockerfile as BuildKit does, failing on any
// parser or lint warning.
func parseDockerfile(t *testing.T) *image {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parsing the Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		t.Errorf("Dockerfile line %v: %s: %s", loc, rule, msg)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("parsing the Dockerfile's instructions: %v", err)
	}
	if len(stages) != 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a final one", len(stages))
	}
	return &image{metaArgs: metaArgs, stages: stages}
}

func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// binaryCopy is the final stage's COPY of the built binary.
func (im *image) binaryCopy(t *testing.T) *instructions.CopyCommand {
	t.Helper()
	final := im.stages[len(im.stages)-1]
	copies := commands[*instructions.CopyCommand](final)
	if len(copies) != 1 || copies[0].From != im.stages[0].Name || len(copies[0].SourcePaths) != 1 {
		t.Fatalf("the final stage must copy exactly one file, the binary, from stage %q", im.stages[0].Name)
	}
	return copies[0]
}

// goBuild is the build stage's `go build` command and the ARGs it sees.
func (im *image) goBuild(t *testing.T) (cmd string, args map[string]string) {
	t.Helper()
	args = map[string]string{}
	arg := func(a instructions.ArgCommand) {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	for _, a := range im.metaArgs {
		arg(a)
	}
	for _, c := range im.stages[0].Commands {
		switch c := c.(type) {
		case *instructions.ArgCommand:
			arg(*c)
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "go build") {
				if !c.PrependShell || cmd != "" {
					t.Fatal("the build stage must have one shell-form RUN with the go build")
				}
				cmd = line
			}
		}
	}
	if cmd == "" {
		t.Fatal("the build stage has no go build")
	}
	return cmd, args
}

func TestDockerfileFinalImage(t *testing.T) {
	im := parseDockerfile(t)
	final := im.stages[len(im.stages)-1]
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && final.BaseName != "scratch" {
		t.Errorf("final image is based on %s, want distroless static or scratch", final.BaseName)
	}
	users := commands[*instructions.UserCommand](final)
	if len(users) == 0 {
		t.Error("the final stage sets no USER")
	} else if u, _, _ := strings.Cut(users[len(users)-1].User, ":"); u == "0" || u == "root" {
		t.Errorf("the image runs as %s, want a non-root user", u)
	}
	binary := im.binaryCopy(t).DestPath
	entry := commands[*instructions.EntrypointCommand](final)
	if len(entry) != 1 || entry[0].PrependShell || !slices.Equal(entry[0].CmdLine, []string{binary}) {
		t.Errorf("ENTRYPOINT must be the exec form [%q] (no shell in the image)", binary)
	}
	cmds := commands[*instructions.CmdCommand](final)
	if len(cmds) != 1 || cmds[0].PrependShell || !slices.Equal(cmds[0].CmdLine, []string{"agent"}) {
		t.Error(`CMD must be ["agent"]`)
	}
	for _, s := range im.stages {
		for _, r := range commands[*instructions.RunCommand](s) {
			if s.Name != im.stages[0].Name {
				t.Errorf("the final stage runs %q: it has no shell", strings.Join(r.CmdLine, " "))
			}
		}
	}
}

// TestDockerfileBuildsStaticBinary runs the Dockerfile's go build, as the
// image build would, on the files the build context holds after .dockerignore,
// and checks the result is a static binary that runs. The only change is
// where the binary is written.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	im := parseDockerfile(t)
	cmd, args := im.goBuild(t)
	if !regexp.MustCompile(`(^|\s)CGO_ENABLED=0\s`).MatchString(cmd) {
		t.Errorf("the build must set CGO_ENABLED=0: %s", cmd)
	}
	out := im.binaryCopy(t).SourcePaths[0]
	if strings.Count(cmd, " -o "+out+" ") != 1 {
		t.Fatalf("the go build must write %s, the file the final stage copies: %s", out, cmd)
	}
	dir := t.TempDir()
	context := filepath.Join(dir, "context")
	copyBuildContext(t, context)
	bin := filepath.Join(dir, "ipcwatch")
	cmd = strings.Replace(cmd, " -o "+out+" ", " -o "+bin+" ", 1)

	build := exec.Command("sh", "-c", cmd)
	build.Dir = context
	build.Env = append(os.Environ(), "GOFLAGS=")
	for k, v := range args {
		build.Env = append(build.Env, k+"="+v)
	}
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%v): distroless static has no libc", p.Type)
		}
	}
	version, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("ipcwatch version: %v\n%s", err, version)
	}
	if want := "version " + args["VERSION"]; !bytes.Contains(version, []byte(want)) {
		t.Errorf("ipcwatch version says %q, want %q from the build's ARG VERSION", version, want)
	}

	exposed := commands[*instructions.ExposeCommand](im.stages[len(im.stages)-1])
	if len(exposed) != 1 || len(exposed[0].Ports) != 1 {
		t.Fatal("the final stage must EXPOSE the agent's port")
	}
	help, err := exec.Command(bin, "agent", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("ipcwatch agent --help: %v\n%s", err, help)
	}
	// kingpin shows a flag's default after the "=".
	def := regexp.MustCompile(`--web\.listen-address=\S*:(\d+)\s`).FindSubmatch(help)
	if def == nil {
		t.Fatalf("ipcwatch agent --help shows no default --web.listen-address:\n%s", help)
	}
	if port, _, _ := strings.Cut(exposed[0].Ports[0], "/"); port != string(def[1]) {
		t.Errorf("the image exposes %s, the agent listens on %s by default", port, def[1])
	}
}

// copyBuildContext copies the repository into dst less what .dockerignore
// excludes, as `docker build .` sends it.
func copyBuildContext(t *testing.T, dst string) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatalf("reading .dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil || rel == "." {
			return err
		}
		if skip, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); err != nil || skip {
			if skip && d.IsDir() {
				return filepath.SkipDir
			}
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			n++
			return copyFile(path, target)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copying the build context: %v", err)
	}
	for _, need := range []string{"go.mod", "go.sum"} {
		if _, err := os.Stat(filepath.Join(dst, need)); err != nil {
			t.Fatalf("the build context lacks %s", need)
		}
	}
	t.Logf("build context: %d files", n)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
