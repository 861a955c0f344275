// Command trivy-db writes a Trivy vulnerability database (schema 2: trivy.db and metadata.json) from a
// small JSON fixture, for tests that scan images offline. It uses Trivy's own database package, so the
// buckets are exactly what Trivy reads.
//
// Usage: trivy-db FIXTURE.json OUTPUT_DIR
//
// FIXTURE.json: {"advisories": [{"platform": "debian 12", "package": "openssl", "id": "CVE-…",
// "fixed": "3.0.11-1~deb12u2" (empty: no fix yet), "severity": "HIGH", "title": "…"}]}
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	bolt "go.etcd.io/bbolt"
)

type advisory struct {
	Platform string `json:"platform"`
	Package  string `json:"package"`
	ID       string `json:"id"`
	Fixed    string `json:"fixed"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
}

type fixture struct {
	Advisories []advisory `json:"advisories"`
}

var sources = map[string]types.DataSource{
	"debian": {ID: "debian", Name: "Debian Security Tracker", URL: "https://salsa.debian.org/security-tracker-team/security-tracker"},
	"ubuntu": {ID: "ubuntu", Name: "Ubuntu CVE Tracker", URL: "https://git.launchpad.net/ubuntu-cve-tracker"},
}

func run(fixturePath, out string) error {
	raw, err := os.ReadFile(fixturePath)
	if err != nil {
		return err
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("%s: %w", fixturePath, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := db.Init(out); err != nil {
		return err
	}
	defer db.Close()
	dbc := db.Config{}
	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, a := range f.Advisories {
			family := a.Platform
			for i, c := range a.Platform {
				if c == ' ' {
					family = a.Platform[:i]
					break
				}
			}
			source, ok := sources[family]
			if !ok {
				return fmt.Errorf("%s: unknown platform %q (debian N or ubuntu N.N)", a.ID, a.Platform)
			}
			if err := dbc.PutDataSource(tx, a.Platform, source); err != nil {
				return err
			}
			if err := dbc.PutAdvisory(tx, []string{a.Platform, a.Package}, a.ID, types.Advisory{FixedVersion: a.Fixed}); err != nil {
				return err
			}
			severity, err := types.NewSeverity(a.Severity)
			if err != nil {
				return fmt.Errorf("%s: %w", a.ID, err)
			}
			vuln := types.Vulnerability{
				Title:          a.Title,
				Description:    a.Title + " (test fixture)",
				Severity:       a.Severity,
				VendorSeverity: types.VendorSeverity{types.SourceID(source.ID): severity},
				References:     []string{"https://example.invalid/" + a.ID},
			}
			if err := dbc.PutVulnerability(tx, a.ID, vuln); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	meta := metadata.Metadata{
		Version:      db.SchemaVersion,
		NextUpdate:   now.AddDate(100, 0, 0),
		UpdatedAt:    now,
		DownloadedAt: now,
	}
	body, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "metadata.json"), body, 0o644)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: trivy-db FIXTURE.json OUTPUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-db:", err)
		os.Exit(1)
	}
}
