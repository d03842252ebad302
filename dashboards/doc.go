// Package dashboards holds ipcwatch's Grafana dashboards (*.json) and
// Prometheus alert rules (rules.yml). Its tests check them against a real
// Prometheus scraping a real `ipcwatch agent`: every panel's query and every
// rule must parse, and every panel must return data.
package dashboards
