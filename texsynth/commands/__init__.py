"""The command line: the dispatcher (:mod:`.main`), shared flags (:mod:`.args`), the run folder every
command writes (:mod:`.runfolder`), and one module per command, each of which parses its flags
into one validated, frozen configuration, reads the files, calls the library and writes outputs."""
