export { ConversionResult, convertManifests, isKubernetesDocument } from './convert';
export { ObjectOrigin, PathOrigin, sourceOf } from './origin';
export { ConversionIssue } from './report';
