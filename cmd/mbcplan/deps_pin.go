package main

// Temporary: keeps the design card's modules in go.mod until the code that
// uses them lands. Remove each line as its package starts using it.
import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/gin-gonic/gin"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/go-playground/validator/v10"
	_ "github.com/samply/golang-fhir-models/fhir-models/fhir"
	_ "golang.org/x/oauth2"
	_ "modernc.org/sqlite"
)
