//! EIA API v2 series and the WPSR tables published on ir.eia.gov. (work in progress).
