//go:build tools

// Package tools pins the binaries the testbed builds from this module.
package tools

import (
	_ "github.com/jaegertracing/jaeger/cmd/collector"
	_ "github.com/jaegertracing/jaeger/cmd/jaeger"
)
