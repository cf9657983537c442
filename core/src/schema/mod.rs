//! Category schemas: canonical, versioned Arrow schemas loaded from data files.
