// The React client's entry: one root and the router of App.tsx.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router/dom';
import { router } from './App';

const root = document.getElementById('root');
if (root) createRoot(root).render(<StrictMode><RouterProvider router={router} /></StrictMode>);
