package sandbox

import (
	"bytes"
	"embed"
	"net/http"
	"net/url"

	"github.com/mbcplan/mbcplan/smart/smarttest"
)

// assets are the launcher's stylesheet and the SMART style handed to the app.
//
//go:embed launcher.css style.json
var assets embed.FS

// simulation is one error the launcher offers to simulate.
type simulation struct {
	Code        smarttest.Simulation
	Description string
}

// simulations lists the errors the launcher page offers, with what the app
// should show.
func simulations() []simulation {
	return []simulation{
		{smarttest.SimulateInvalidClientID, "authorize refuses the client (unauthorized_client)"},
		{smarttest.SimulateInvalidRedirectURI, "authorize stops on an error page: the redirect URI is not trusted"},
		{smarttest.SimulateInvalidScope, "authorize refuses the scopes (invalid_scope)"},
		{smarttest.SimulateInvalidClientSecret, "token refuses the client secret (invalid_client)"},
		{smarttest.SimulateInvalidClient, "token refuses the client (invalid_client)"},
		{smarttest.SimulateInvalidJTI, "token refuses the client assertion's jti (invalid_client)"},
		{smarttest.SimulateExpiredRegistrationToken, "token says the client registration expired (invalid_client)"},
		{smarttest.SimulateExpiredRefreshToken, "refresh fails: the refresh token has expired"},
		{smarttest.SimulateFHIR401, "every FHIR call answers 401 with a plain-text body"},
		{smarttest.SimulateFHIR503, "every FHIR call answers 503: the EHR's FHIR server is unavailable"},
	}
}

const launcherHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Message}}{{.Message.Title}} · {{end}}mbcplan sandbox EHR</title>
<link rel="stylesheet" href="/sandbox/launcher.css">
</head>
<body>
<header>
<h1>mbcplan sandbox EHR</h1>
<p class="lead">Synthetic patients only. Launch the app as an oncologist would from a chart.</p>
</header>
<main>
{{with .Message}}
<h2>{{.Title}}</h2>
<p>{{.Text}}</p>
<p><a href="/">Back to the patient list</a></p>
{{else}}
<h2>Patients</h2>
<table>
<thead><tr><th>Patient</th><th>Scenario</th><th>Launch</th></tr></thead>
<tbody>
{{range .Patients}}<tr>
<td>{{if .Name}}{{.Name}}{{else}}(no name){{end}}<br><code>{{.ID}}</code></td>
<td>{{.Title}}</td>
<td class="actions"><a class="launch" href="{{.LaunchHref}}">Launch</a><a class="secondary" href="{{.BannerHref}}">with patient banner</a></td>
</tr>
{{end}}</tbody>
</table>
<p class="muted">Launch opens the app with this patient in context (an EHR launch).
A <a href="{{.StandaloneHref}}">standalone launch</a> starts at the app instead and lets you pick the patient here.</p>
<p class="muted">FHIR base (iss): <code>{{.Issuer}}</code></p>
{{with .First}}
<h2>Error simulations</h2>
<p>Each link launches {{if .Name}}{{.Name}}{{else}}the first patient{{end}} with one simulated failure, so you can check what the app shows.</p>
<ul class="sims">
{{range $.Simulations}}<li><a href="{{.Href}}"><code>{{.Code}}</code></a>: {{.Description}}</li>
{{end}}</ul>
{{end}}
{{end}}
</main>
<footer>Sandbox equipment for development and tests. Not an EHR; holds no real patient data.</footer>
</body>
</html>
`

type pageData struct {
	Patients       []patientRow
	First          *patientRow
	Simulations    []simulationRow
	StandaloneHref string
	Issuer         string
	Message        *pageMessage
}

type patientRow struct {
	ID, Name, Title        string
	LaunchHref, BannerHref string
}

type simulationRow struct {
	Code        string
	Description string
	Href        string
}

type pageMessage struct {
	Title, Text string
}

func launchHref(patient string, extra url.Values) string {
	v := url.Values{"patient": {patient}}
	for k, vs := range extra {
		v[k] = vs
	}
	return "/sandbox/launch?" + v.Encode()
}

// launcher renders the patient list.
func (sb *Sandbox) launcher(w http.ResponseWriter, r *http.Request) {
	d := pageData{Issuer: sb.issuer}
	for _, p := range sb.patients {
		d.Patients = append(d.Patients, patientRow{
			ID: p.ID, Name: p.Name, Title: p.Title,
			LaunchHref: launchHref(p.ID, nil),
			BannerHref: launchHref(p.ID, url.Values{"banner": {"1"}}),
		})
	}
	if len(d.Patients) > 0 {
		d.First = &d.Patients[0]
		for _, s := range simulations() {
			d.Simulations = append(d.Simulations, simulationRow{
				Code:        string(s.Code),
				Description: s.Description,
				Href:        launchHref(d.First.ID, url.Values{"sim": {string(s.Code)}}),
			})
		}
	}
	if u, err := url.Parse(sb.launchURL); err == nil {
		q := u.Query()
		q.Set("iss", sb.issuer)
		u.RawQuery = q.Encode()
		d.StandaloneHref = u.String()
	}
	sb.render(w, http.StatusOK, d)
}

// message renders a short page with one message, e.g. an unknown patient.
func (sb *Sandbox) message(w http.ResponseWriter, status int, title, text string) {
	sb.render(w, status, pageData{Message: &pageMessage{Title: title, Text: text}})
}

func (sb *Sandbox) render(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := sb.page.Execute(&buf, d); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return
	}
}

// serveAsset serves an embedded file.
func serveAsset(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := assets.ReadFile(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=300")
		if _, err := w.Write(body); err != nil {
			return
		}
	}
}
