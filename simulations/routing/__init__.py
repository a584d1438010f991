"""EV routing for the DSO (SOGNO EvRich's service) and an emulated EV fleet on a residential LV
grid of Rome. See README.md beside this file."""
