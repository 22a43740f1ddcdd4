// File upload with a progress bar: fetch cannot report upload progress, XMLHttpRequest can.
import { ApiError } from './errors';
import { freshAccessToken } from './session';

export interface UploadHandle<T> {
  done: Promise<T>;
  abort: () => void;
}

export function uploadFile<T>(url: string, file: File, onProgress: (fraction: number) => void): UploadHandle<T> {
  const xhr = new XMLHttpRequest();
  const done = (async () => {
    const token = await freshAccessToken();
    return new Promise<T>((resolve, reject) => {
      xhr.open('POST', url);
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(body as T);
        } else {
          const headers = new Headers();
          const retry = xhr.getResponseHeader('Retry-After');
          if (retry) headers.set('Retry-After', retry);
          reject(ApiError.fromProblem(new Response(null, { status: xhr.status, headers }), body));
        }
      };
      xhr.onerror = () => reject(ApiError.network(new Error('upload interrupted')));
      xhr.onabort = () => reject(new ApiError({ status: 0, message: 'Upload cancelled.' }));
      const form = new FormData();
      form.append('file', file);
      xhr.send(form);
    });
  })();
  return { done, abort: () => xhr.abort() };
}
