package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestAgentBasicAuth: --web.config.file turns on basic auth for /metrics.
func TestAgentBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildAgent(t)
	cfg := filepath.Join(filepath.Dir(bin), "web.yml")
	if err := os.WriteFile(cfg, []byte("basic_auth_users:\n  prom: "+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, bin, nil, "--selftest.interval=0", "--web.config.file="+cfg)
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "http://"+a.addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code := get("prom", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := get("prom", "s3cret"); code != http.StatusOK {
		t.Errorf("right password: %d, want 200", code)
	}
	if err := a.stop(t); err != nil {
		t.Errorf("agent exit after SIGTERM: %v", err)
	}
}
