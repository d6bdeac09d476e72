// acmez-bench: the strongest peer of the issuance benchmark (issue 22): acmez, the ACME engine
// under Caddy's certmagic, keeping its state in memory in one process, obtaining N certificates
// with W concurrent workers against the same Pebble and the same DNS as the service (its dns-01
// solver publishes through pebble-challtestsrv's management API). Prints one line of figures;
// exits 1 when any certificate was not obtained (then no figure is worth comparing).
//
//	acmez-bench -dir URL -ca PEM -dnsapi URL [-n 100] [-workers 16] [-profile default] [-label x]
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
)

var (
	directory = flag.String("dir", "", "ACME directory URL")
	caFile    = flag.String("ca", "", "PEM file to trust for the CA")
	dnsAPI    = flag.String("dnsapi", "", "pebble-challtestsrv management URL")
	count     = flag.Int("n", 100, "certificates")
	workers   = flag.Int("workers", 16, "concurrent orders")
	profile   = flag.String("profile", "default", "CA profile each order names (\"\": none)")
	label     = flag.String("label", "acmez", "first label of the names")
)

// dnsSolver publishes the dns-01 value at challtestsrv (RFC 8555 §8.4) and removes it after.
type dnsSolver struct{ client *http.Client }

func (s dnsSolver) call(ctx context.Context, path string, body map[string]string) error {
	payload, _ := json.Marshal(body)
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, *dnsAPI+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	response, err := s.client.Do(request)
	if err != nil {
		return err
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("challtestsrv %s: %s", path, response.Status)
	}
	return nil
}

func (s dnsSolver) Present(ctx context.Context, challenge acme.Challenge) error {
	return s.call(ctx, "/set-txt", map[string]string{
		"host": challenge.DNS01TXTRecordName() + ".", "value": challenge.DNS01KeyAuthorization()})
}

func (s dnsSolver) CleanUp(ctx context.Context, challenge acme.Challenge) error {
	return s.call(ctx, "/clear-txt", map[string]string{"host": challenge.DNS01TXTRecordName() + "."})
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

func main() {
	flag.Parse()
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmez-bench:", err)
		os.Exit(2)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	httpClient := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: *workers * 2}}
	client := acmez.Client{
		Client:           &acme.Client{Directory: *directory, HTTPClient: httpClient, UserAgent: "acmez-bench"},
		ChallengeSolvers: map[string]acmez.Solver{acme.ChallengeTypeDNS01: dnsSolver{client: &http.Client{Timeout: 10 * time.Second}}},
	}
	ctx := context.Background()
	accountKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	account, err := client.NewAccount(ctx, acme.Account{TermsOfServiceAgreed: true, PrivateKey: accountKey})
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmez-bench: newAccount:", err)
		os.Exit(1)
	}
	run := time.Now().UnixNano() % 1_000_000
	var next, failed atomic.Int64
	var mu sync.Mutex
	var durations []time.Duration
	var wg sync.WaitGroup
	started := time.Now()
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(*count) {
					return
				}
				name := fmt.Sprintf("%s-%d-%d.bench.example", *label, run, i)
				key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				csr, err := acmez.NewCSR(crypto.Signer(key), []string{name})
				if err == nil {
					var params acmez.OrderParameters
					params, err = acmez.OrderParametersFromCSR(account, csr)
					params.Profile = *profile
					begun := time.Now()
					if err == nil {
						_, err = client.ObtainCertificate(ctx, params)
					}
					if err == nil {
						mu.Lock()
						durations = append(durations, time.Since(begun))
						mu.Unlock()
					}
				}
				if err != nil {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "acmez-bench: %s: %v\n", name, err)
				}
			}
		}()
	}
	wg.Wait()
	total := time.Since(started)
	sort.Slice(durations, func(a, b int) bool { return durations[a] < durations[b] })
	fmt.Printf("acmez: %d certificates in %.2f s (%d workers, one process), per certificate p50 %d ms, p95 %d ms, failed %d\n",
		len(durations), total.Seconds(), *workers, percentile(durations, 0.5).Milliseconds(),
		percentile(durations, 0.95).Milliseconds(), failed.Load())
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
