export { readTar, TarEntry, TarHeader, TarEntryType, TarError } from './tar.reader';
export { ByteSource, batched, gunzipIfCompressed, hashing } from './byte.source';
export { TarWriter, TarWriteHeader, ByteSink, fileSink, streamSink } from './tar.writer';
export { ExtractTarOptions, extractTar } from './tar.extract';
