// Entry point: mount the dashboard.
import { createApp } from 'vue';
import App from './App.vue';
import { dropEarlyAnswer } from './api/http';
import './styles.css';

createApp(App).mount('#app');
dropEarlyAnswer();
