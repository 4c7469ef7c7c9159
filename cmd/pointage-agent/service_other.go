//go:build !windows

package main

import (
	"context"
	"io"
)

// serviceSupported: the service commands work on Windows only.
const serviceSupported = false

func serviceInstall(io.Writer, installPlan) error          { return errServiceUnsupported }
func serviceUninstall(io.Writer, string) error             { return errServiceUnsupported }
func serviceStart(io.Writer, string) error                 { return errServiceUnsupported }
func serviceStop(io.Writer, string) error                  { return errServiceUnsupported }
func serviceRun(string, func(context.Context) error) error { return errServiceUnsupported }
