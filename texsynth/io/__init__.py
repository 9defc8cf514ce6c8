"""Reading and writing files: images of any mode, atomic writes, a streaming PNG writer, GIF animations."""
