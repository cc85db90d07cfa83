//! Black-box tests of Cardfile live in `it/`; this library is empty on purpose.
